{#
    The column's non-null values lie between `min_value` and `max_value` (either may be
    omitted), both bounds included unless `inclusive` is false.
#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}

{%- set lower_operator = '>=' if inclusive else '>' %}
{%- set upper_operator = '<=' if inclusive else '<' %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} is not null
    and not (
        true
        {%- if min_value is not none %}
        and {{ column_name }} {{ lower_operator }} {{ min_value }}
        {%- endif %}
        {%- if max_value is not none %}
        and {{ column_name }} {{ upper_operator }} {{ max_value }}
        {%- endif %}
    )

{% endtest %}
