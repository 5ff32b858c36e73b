{#
    The day the run reports on, or none: var('as_of') when given (`dbt build --vars`, unit
    tests), else the environment variable DBT_AS_OF, which the daily job sets to its day
    (AS_OF, or the run's launch config). Not a var in the job, so that a new day makes dbt
    parse again only the files that read it: a changed var makes it parse the whole project.
#}
{% macro as_of() -%}
    {{ return(var('as_of', none) or env_var('DBT_AS_OF', '') or none) }}
{%- endmacro %}
