{#
    Every row of `model` keeps the rules of its table, all counted in one query:
    - `not_null`: the columns that may not be null;
    - `accepted_values`: per column, the values it may hold (strings quoted, numbers not);
    - `accepted_range`: per column, `min_value` and/or `max_value`, both bounds included
      unless `inclusive` is false;
    - `expression_is_true`: boolean SQL expressions, naming the columns they read.
    As in dbt's tests of the same names, a null passes `accepted_values` and `accepted_range`
    and fails an expression. Returns one row per rule that some rows break: the rule, how
    many rows break it and, given the model's `key` column, the smallest key among them. A test per rule cost dbt a node and Dagster an asset check each,
    20 to 30 ms of every build whatever the rows (README, Speed).
#}
{% test row_rules(
    model, not_null=[], accepted_values={}, accepted_range={}, expression_is_true=[], key=none
) %}

{%- set rules = [] %}
{%- for column in not_null %}
    {%- do rules.append(('not_null ' ~ column, column ~ ' is null')) %}
{%- endfor %}
{%- for column, values in accepted_values.items() %}
    {%- set listed = [] %}
    {%- for value in values %}
        {%- do listed.append(value if value is number else "'" ~ value ~ "'") %}
    {%- endfor %}
    {%- do rules.append((
        'accepted_values ' ~ column, column ~ ' not in (' ~ listed | join(', ') ~ ')'
    )) %}
{%- endfor %}
{%- for column, bounds in accepted_range.items() %}
    {%- set inclusive = bounds.get('inclusive', true) %}
    {%- set within = [] %}
    {%- if bounds.get('min_value') is not none %}
        {%- do within.append(column ~ (' >= ' if inclusive else ' > ') ~ bounds['min_value']) %}
    {%- endif %}
    {%- if bounds.get('max_value') is not none %}
        {%- do within.append(column ~ (' <= ' if inclusive else ' < ') ~ bounds['max_value']) %}
    {%- endif %}
    {%- if not within %}
        {{ exceptions.raise_compiler_error('accepted_range of ' ~ column ~ ' sets no bound') }}
    {%- endif %}
    {%- do rules.append(('accepted_range ' ~ column, 'not (' ~ within | join(' and ') ~ ')')) %}
{%- endfor %}
{%- for expression in expression_is_true %}
    {%- set text = expression.split() | join(' ') %}
    {%- do rules.append((
        'expression_is_true ' ~ text | replace("'", '') | truncate(120, true, '...', 0),
        'not coalesce((' ~ expression ~ '), false)'
    )) %}
{%- endfor %}

with broken as (

    select
        {% for _, breaks in rules -%}
        sum(case when {{ breaks }} then 1 else 0 end) as rule_{{ loop.index }}
        {%- if key %},
        min(case when {{ breaks }} then {{ key }} end) as example_{{ loop.index }}
        {%- endif %}
        {%- if not loop.last %},{% endif %}
        {% endfor %}
    from {{ model }}

)

{% for rule, _ in rules %}
select
    '{{ rule }}' as rule,
    rule_{{ loop.index }} as failing_rows
    {%- if key %},
    example_{{ loop.index }} as first_{{ key }}
    {%- endif %}
from broken
where rule_{{ loop.index }} > 0
{% if not loop.last %}union all{% endif %}
{% endfor %}

{% endtest %}
