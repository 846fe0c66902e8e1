"""Understanding what people paste: cleaning text, the knowledge base, exact signatures,
specifics (entities) and the engine that decides what a message is."""
