/** Shell-style globs (`*`, `?`) over location ids, for `npm run plan -- <glob>`. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

export function matchLocations(ids: readonly string[], globs: readonly string[]): string[] {
  if (globs.length === 0) return [...ids];
  const patterns = globs.map(globToRegExp);
  return ids.filter((id) => patterns.some((p) => p.test(id)));
}
