-- mart.goal_summary as the publish gate validates it.
SELECT * FROM mart.goal_summary
