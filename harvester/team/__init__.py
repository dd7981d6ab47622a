"""Team mode (docs/team.md): one service for a whole organisation, each person with their own data.

`vault` seals and opens the stored grants; `checks` holds what `brag team init` and `brag team
health` verify; `connect` runs each source's OAuth web flow that connects an account. The per-user
queries live with the rest of the store, in `harvester.store.accounts`.
"""
