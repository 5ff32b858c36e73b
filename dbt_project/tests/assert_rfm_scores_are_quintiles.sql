-- ntile(5) deals the scored customers into five groups whose sizes differ by at most one,
-- whatever the ties: a score used more often than that means the scores were not computed
-- over one population (a join duplicating customers, a partition slipped in).

with

rfm as (

    select * from {{ ref('int_customers_rfm_scored') }}

),

scores as (

    select
        'recency' as score_name,
        rfm_recency_score as score
    from rfm

    union all

    select
        'frequency' as score_name,
        rfm_frequency_score as score
    from rfm

    union all

    select
        'monetary' as score_name,
        rfm_monetary_score as score
    from rfm

),

score_counts as (

    select
        score_name,
        score,
        count(*) as customers
    from scores
    group by score_name, score

),

final as (

    select
        score_name,
        count(*) as scores_used,
        min(customers) as fewest_customers,
        max(customers) as most_customers
    from score_counts
    group by score_name
    having
        max(customers) - min(customers) > 1
        or count(*) != least(5, (select count(*) from rfm))

)

select * from final
