{#
    None of `columns` of `model` is null: the not-null test of a model's columns in one query.
    A column-level `not_null` test per column costs dbt and Dagster a node and an asset check
    each, about 35 ms of every build whatever the rows (README, Speed). Returns one row per
    column holding nulls, with their count.
#}
{% test not_null_columns(model, columns) %}

with null_counts as (

    select
        {% for column in columns -%}
        sum(case when {{ column }} is null then 1 else 0 end) as {{ column }}
        {%- if not loop.last %},{% endif %}
        {% endfor %}
    from {{ model }}

)

{% for column in columns %}
select
    '{{ column }}' as column_name,
    {{ column }} as null_rows
from null_counts
where {{ column }} > 0
{% if not loop.last %}union all{% endif %}
{% endfor %}

{% endtest %}
