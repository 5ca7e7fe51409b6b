{#- The streaming landing as staging sees it: a plain view over source lander.kinesis_records
    (macros/landing/stream_landing.sql says what that is on each warehouse). A view, so a full
    refresh that drops and recreates it loses nothing. -#}
{{
    config(
        materialized='view',
        bind=stream_landing_bind(),
    )
}}

{{ stream_landing_select() }}
