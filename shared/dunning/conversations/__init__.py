"""Pure rules of conversations (S4): picking an agent (:mod:`.routing`), per-conversation tokens (:mod:`.tokens`),
contact keys and sheet rows (:mod:`.domain`). No AWS here."""
