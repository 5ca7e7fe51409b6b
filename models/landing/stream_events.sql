{{
    config(
        materialized=stream_landing_materialization(),
        auto_refresh=true,
        backup=false,
        pre_hook=create_kinesis_external_schema(),
    )
}}

{{ stream_landing_select() }}
