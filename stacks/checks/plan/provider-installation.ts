/**
 * Where Terraform gets providers during plan checks: from a filesystem mirror when one holds the
 * provider (CI machines mirror hashicorp/aws, since no registry is reachable), from the registry
 * otherwise. The plan runner installs each provider set once and links it into every stack.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Mirror folders searched when TF_PLUGIN_MIRROR is not set (Terraform's own implied dirs first). */
export const DEFAULT_MIRROR_DIRS = [
  path.join(os.homedir(), '.terraform.d', 'plugins'),
  '/usr/local/share/terraform/plugins',
  '/usr/share/terraform/plugins',
  '/opt/tf-plugins',
];

export interface MirroredProvider {
  /** e.g. `registry.terraform.io/hashicorp/aws` */
  readonly address: string;
  readonly versions: readonly string[];
  readonly mirrorDir: string;
}

/** Lists providers in mirror folders laid out as `<host>/<namespace>/<type>/<version>/<os_arch>/`. */
export function findMirroredProviders(dirs: readonly string[]): MirroredProvider[] {
  const found: MirroredProvider[] = [];
  const platform = `${process.platform}_${process.arch === 'x64' ? 'amd64' : process.arch}`;
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) continue;
    for (const host of fs.readdirSync(dir)) {
      const hostDir = path.join(dir, host);
      if (!fs.statSync(hostDir).isDirectory()) continue;
      for (const namespace of fs.readdirSync(hostDir)) {
        const nsDir = path.join(hostDir, namespace);
        if (!fs.statSync(nsDir).isDirectory()) continue;
        for (const type of fs.readdirSync(nsDir)) {
          const typeDir = path.join(nsDir, type);
          if (!fs.statSync(typeDir).isDirectory()) continue;
          const versions = fs.readdirSync(typeDir).filter((v) => fs.existsSync(path.join(typeDir, v, platform)));
          if (versions.length > 0) found.push({ address: `${host}/${namespace}/${type}`, versions: versions.sort(), mirrorDir: dir });
        }
      }
    }
  }
  return found;
}

export function mirrorDirsFromEnvironment(env: Readonly<Record<string, string | undefined>>): string[] {
  return env.TF_PLUGIN_MIRROR ? env.TF_PLUGIN_MIRROR.split(path.delimiter).filter(Boolean) : DEFAULT_MIRROR_DIRS;
}

/** The CLI configuration text (HCL) for the mirrored providers plus direct installation of others. */
export function cliConfig(mirrored: readonly MirroredProvider[]): string {
  const byDir = new Map<string, string[]>();
  for (const p of mirrored) byDir.set(p.mirrorDir, [...(byDir.get(p.mirrorDir) ?? []), p.address]);
  const q = (s: string) => JSON.stringify(s);
  const mirrors = [...byDir.entries()].map(
    ([dir, addresses]) => `  filesystem_mirror {\n    path    = ${q(dir)}\n    include = [${addresses.map(q).join(', ')}]\n  }\n`,
  );
  const all = mirrored.map((p) => q(p.address));
  const direct = all.length > 0 ? `  direct {\n    exclude = [${all.join(', ')}]\n  }\n` : '  direct {}\n';
  return `# Written by stacks/checks/plan for plan checks; not used by deploys.\nprovider_installation {\n${mirrors.join('')}${direct}}\n`;
}
