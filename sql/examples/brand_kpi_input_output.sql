-- The sales closed loop: each brand's goal KPIs next to its spend and sales, per day, with the
-- input/output ratios (mart_brand_kpi; goals and the drop mapping are in include/sales.yaml).
SELECT
    d.date,
    b.brand_name,
    k.goal,
    k.kpi_1_name, k.kpi_1_value,
    k.kpi_2_name, k.kpi_2_value,
    k.kpi_3_name, k.kpi_3_value,
    k.spend,
    k.sales_amount,
    k.kpi_1_per_spend,
    k.sales_per_mention,
    k.spend_per_1k_reach
FROM mart_brand_kpi k
JOIN dim_brand b ON b.brand_id = k.brand_id
JOIN dim_date d ON d.date_key = k.date_key
ORDER BY d.date, b.brand_name;
