{#
    The column's non-null values lie between `min_value` and `max_value` (either may be
    omitted), both bounds included unless `inclusive` is false.
#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}

{%- set bounds = ['true'] %}
{%- if min_value is not none %}
    {%- do bounds.append(column_name ~ (' >= ' if inclusive else ' > ') ~ min_value) %}
{%- endif %}
{%- if max_value is not none %}
    {%- do bounds.append(column_name ~ (' <= ' if inclusive else ' < ') ~ max_value) %}
{%- endif %}

select {{ column_name }}
from {{ model }}
where
    {{ column_name }} is not null
    and not ({{ bounds | join(' and ') }})

{% endtest %}
