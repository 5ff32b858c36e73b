{#
    dbt's relationships test for a table a source may leave empty (an optional one): every
    value of `column_name` in `model` is a `field` of `to`, once `to` holds any row. Without
    it every row would fail, every day, saying nothing the source check does not: that the
    table is empty.
#}
{% test relationships_to_optional(model, column_name, to, field) %}

select child.{{ column_name }} as from_field
from {{ model }} as child
left join {{ to }} as parent
    on child.{{ column_name }} = parent.{{ field }}
where
    child.{{ column_name }} is not null
    and parent.{{ field }} is null
    and exists (select 1 from {{ to }})

{% endtest %}
