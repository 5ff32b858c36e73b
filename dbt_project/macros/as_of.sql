{#
    The day the run reports on, or none: var('as_of') when given (`dbt build --vars`, unit
    tests), else the environment variable DBT_AS_OF, which the daily job sets to its day
    (AS_OF, or the run's launch config). Not a var in the job: a changed var makes dbt parse
    the whole project. Read only when the SQL is compiled to run (`execute`), not when dbt
    parses: the day decides no ref, source or config, and dbt parses again each file that
    read a changed environment variable, which a new day would be.
#}
{% macro as_of() -%}
    {{ return(var('as_of', none) or (env_var('DBT_AS_OF', '') if execute else '') or none) }}
{%- endmacro %}
