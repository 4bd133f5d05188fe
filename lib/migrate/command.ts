// `metallbctl migrate`: placeholder until the migration tool lands (issue: metallbctl migrate).
export async function migrateCommand(_argv: string[], _out: (s: string) => void, err: (s: string) => void): Promise<number> {
  err('metallbctl migrate: not implemented yet\n');
  return 2;
}
