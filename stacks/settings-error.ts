/** A bad synth-time setting from the environment (TF_BACKEND, APP_IMAGE_TAG, ...). */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}
