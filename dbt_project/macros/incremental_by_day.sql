{#
    The materialization of the incremental daily marts: incremental where the warehouse can
    delete rows (DuckDB: delete+insert, and the pre-hook delete_rows_out_of_series), a table
    rebuilt whole elsewhere: Spark's Parquet tables take neither a delete nor a merge.
#}
{% macro incremental_by_day() -%}
    {{ return('incremental' if target.type == 'duckdb' else 'table') }}
{%- endmacro %}
