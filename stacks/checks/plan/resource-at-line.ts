/**
 * The resource around a line of a synthesized `cdk.tf.json` (cdktf writes it with two-space
 * indentation: `resource` > type > name), so a validate error names the resource, not a line.
 */
export function resourceAtLine(stackJsonText: string, line: number): string | undefined {
  const lines = stackJsonText.split('\n').slice(0, line);
  let name: string | undefined;
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^( +)"([^"]+)": \{$/.exec(lines[i]!);
    if (!m) continue;
    if (!name && m[1]!.length === 6) name = m[2];
    else if (name && m[1]!.length === 4) return `${m[2]}.${name}`;
    else if (m[1]!.length < 4) return undefined;
  }
  return undefined;
}
