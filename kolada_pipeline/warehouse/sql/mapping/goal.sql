-- The 17 Sustainable Development Goals and the UN's 169 target codes (reference data from mappings/sdg).
CREATE TABLE IF NOT EXISTS mapping.goal (
    goal     INTEGER PRIMARY KEY CHECK (goal BETWEEN 1 AND 17),
    title_sv VARCHAR NOT NULL,
    title_en VARCHAR NOT NULL,
    colour   VARCHAR
);
CREATE TABLE IF NOT EXISTS mapping.target (
    target VARCHAR PRIMARY KEY,
    goal   INTEGER NOT NULL
);
COMMENT ON TABLE mapping.goal IS 'Agenda 2030: the 17 goals with Swedish and English short titles';
