{#
    The current version (by `key`) of each row of `model` holds, in each of `columns` (a map
    of column to type, as `read_as` takes it), either nothing or text that reads as its type.
    Returns the key, column and text of each value that does not: staging reads it as null.
#}
{% test readable_as(model, columns, key='id') %}

with current_versions as (

    select *
    from {{ model }}  -- noqa: LT02
    {{ latest_version(key) }}

),

unreadable as (

    {% for column, type in columns.items() %}
    select
        {{ key }},
        '{{ column }}' as column_name,
        {{ column }} as text
    from current_versions
    where nullif(trim({{ column }}), '') is not null and {{ read_as(column, type) }} is null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from unreadable

{% endtest %}
