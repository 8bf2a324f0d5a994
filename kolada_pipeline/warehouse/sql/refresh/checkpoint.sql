-- Write everything to the database file, so that publishing it is one rename of a complete file.
CHECKPOINT
