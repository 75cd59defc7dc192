/**
 * A bad synth-time setting: an environment variable (TF_BACKEND, APP_IMAGE_TAG, ...) or the
 * platform settings file (PlatformSettingsError). Entry points print the message and stop.
 */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}
