/**
 * The cdktf app (`cdktf.json` runs this for `cdktf synth|diff|deploy`). Every location file and
 * the platform settings are validated before any stack is built, so a bad file stops synth with
 * nothing written.
 */
import { App, disableTokenStackTraces } from './infra/cdktf';
import { expectedError, runCli } from './cli/run-cli';
import { LocationConfigError } from './infra/config/location-config-error';
import { buildPlatformApp } from './infra/platform-app';
import { SettingsError } from './settings-error';
import { loadSynthInputs } from './synth-options';

function main(): void {
  disableTokenStackTraces(process.env);
  const { locations, backend, imageTag, settings, webClient } = loadSynthInputs(process.env);
  const app = new App();
  buildPlatformApp(app, { locations, backend, imageTag, settings, webClient });
  app.synth();
}

runCli(main, { expected: [expectedError([LocationConfigError, SettingsError], 1)] });
