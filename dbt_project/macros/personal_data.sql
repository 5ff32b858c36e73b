{#
    Personal data never leaves raw in clear. An e-mail is replaced by the hash of its trimmed,
    lower-cased form, so the same person matches across ERP and CRM without exposing the
    address; empty e-mails stay null instead of all sharing the hash of ''.
#}
{% macro hash_email(column) -%}
    case
        when nullif(trim({{ column }}), '') is not null
            then {{ dbt.hash("lower(trim(" ~ column ~ "))") }}
    end
{%- endmacro %}
