/** Whether `--store` names a PostgreSQL database (otherwise the data directory's SQLite file is used). */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//.test(location);
}
