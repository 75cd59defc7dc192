/** stacks/checks/policy/README.md documents every rule exactly as ALL_RULES defines it. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALL_RULES } from '../../stacks/checks/policy/rules';

const README = fs.readFileSync(path.resolve(__dirname, '../../stacks/checks/policy/README.md'), 'utf8');

test('the README rule table has one row per rule: id, title, checkov, trivy, applies to', () => {
  const rows = README.split('\n')
    .filter((line) => /^\| [A-Z0-9]+-\d{3} \|/.test(line))
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
  expect(rows).toEqual(ALL_RULES.map((r) => [r.id, r.title, r.checkov ?? '-', r.trivy ?? '-', r.appliesTo.join(', ')]));
});
