/**
 * The cdktf app (`cdktf.json` runs this for `cdktf synth|diff|deploy`). Every location file is
 * validated before any stack is built, so a bad file stops synth with nothing written.
 */
import { App, disableTokenStackTraces } from './cdktf';
import { loadLocations } from './config/load-locations';
import { LocationConfigError } from './config/location-config-error';
import { buildPlatformApp } from './platform-app';
import { SettingsError } from './settings-error';
import { synthOptionsFromEnvironment } from './synth-options';

function main(): void {
  disableTokenStackTraces(process.env);
  const options = synthOptionsFromEnvironment(process.env);
  const locations = loadLocations(options.locationsDir);
  const app = new App();
  buildPlatformApp(app, { locations, backend: options.backend, imageTag: options.imageTag });
  app.synth();
}

try {
  main();
} catch (err) {
  if (err instanceof LocationConfigError || err instanceof SettingsError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
