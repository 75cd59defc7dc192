/**
 * Thrown before any stack is built when the platform settings file is missing or wrong, with every
 * problem of the file listed (same `<file>: <field> <what is allowed>, got <value>` form as the
 * location files). A SettingsError, so every entry point already stops on it with the message.
 */
import { SettingsError } from '../../settings-error';
import { formatProblem, type LocationProblem } from './location-config-error';

/** One problem in the settings file: the file, the dotted field path and what is wrong. */
export type PlatformSettingsProblem = LocationProblem;

export class PlatformSettingsError extends SettingsError {
  constructor(readonly problems: readonly PlatformSettingsProblem[]) {
    super(
      problems.length === 1
        ? `Invalid platform settings: ${formatProblem(problems[0]!)}`
        : `Invalid platform settings (${problems.length} problems):\n${problems.map((p) => `  - ${formatProblem(p)}`).join('\n')}`,
    );
    this.name = 'PlatformSettingsError';
  }
}
