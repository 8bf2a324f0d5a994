-- The 17 goals with their Swedish titles and UN colours.
SELECT goal, title_sv, colour
FROM mapping.goal
ORDER BY goal;
