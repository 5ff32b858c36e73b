{#
    Each row of `relation` once for the total ('all') and once for every member it belongs to:
    its segment and its region unless `members` names other columns (dimension: column). Rows
    without a member are left out of that dimension. Grouping the result by dimension and
    dimension_value gives every member's figures from one aggregation written once.
#}
{% macro member_rows(relation, members={'segment': 'segment', 'region': 'region'}) -%}
    select
        'total' as dimension,
        'all' as dimension_value,
        {{ relation }}.*
    from {{ relation }}
    {%- for dimension, column in members.items() %}

    union all

    select
        '{{ dimension }}' as dimension,
        {{ column }} as dimension_value,
        {{ relation }}.*
    from {{ relation }}
    where {{ column }} is not null
    {%- endfor %}
{%- endmacro %}
