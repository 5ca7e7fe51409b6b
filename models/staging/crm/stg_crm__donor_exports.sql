{#-
    Rows of the CRM's donor export files, one per file and row: every CRM version of a donor an
    export carried (the same version in many daily files is collapsed in dim_donors). Holds PII
    (name, email, postal code); only hashed or dropped downstream. A view, unlike the stream's
    entity staging: the load already typed each column, so there is nothing to extract once.
-#}
{{ config(materialized='view') }}

with

exports as (

    select * from {{ source('lander', 'crm_donor_exports') }}

),

renamed as (

    select
        -- ids: file and row, which no event_id (a UUID) can equal
        source_key || ':' || cast(source_row_number as varchar(20)) as export_row_id,
        donor_id,

        -- strings
        name,
        email,
        postal_code,

        -- booleans
        is_major_donor,

        -- timestamps at the source
        {{ to_utc_timestamp('updated_at') }} as updated_at,

        -- timestamps
        loaded_at,

        -- cursor: the load's number (macros/batch/batch_landing.sql)
        load_seq,

        -- lineage: the export file and row
        source_key,
        source_row_number

    from exports

)

select * from renamed
