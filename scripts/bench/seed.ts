// The accounts the bench seeds in the simulator and writes straight into a gateway's accounts.json: the
// same deterministic identities on both sides, so 10,000 of them need no exchange between processes.
export const seedEmail = (i: number) => `seed-${i}@bench.example`;
export const seedRefreshToken = (i: number) => `1//bench-seed-${i}`;
export const seedProject = (i: number) => `bench-project-${i}`;
