{#
    Every row of `model` satisfies the boolean SQL `expression`; rows where it is false or
    null fail. It may be attached to the model or to a column; the expression names the
    columns it reads either way.
#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not coalesce(({{ expression }}), false)

{% endtest %}
