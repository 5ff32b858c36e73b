{#
    The rows of `model` are unique on the combination of `combination_of_columns`: the test
    for composite primary keys (raw versions: id + updated_at; daily marts: day + dimension).
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

{%- set columns_csv = combination_of_columns | join(', ') %}

select
    {{ columns_csv }},
    count(*) as duplicate_rows
from {{ model }}
group by {{ columns_csv }}
having count(*) > 1

{% endtest %}
