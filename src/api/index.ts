export { ADMIN_TOKEN_FILE, type AdminToken, resolveAdminToken } from "./admin-token.ts";
export {
  COMPANY_AUDIO_MAX_BYTES,
  companyAudioView,
  ringGroupView,
  scheduleAdvanceView,
  scheduleStateView,
} from "./company-routes.ts";
export { ApiError, type ErrorBody, errorBody } from "./errors.ts";
export type {
  CallView,
  PbxView,
  RegistrationView,
  TrunkRegistrationView,
  VoicemailAdmin,
} from "./pbx-view.ts";
export {
  API_ACTOR,
  API_VERSION,
  type ApiDeps,
  buildApi,
  extensionView,
  GREETING_MAX_BYTES,
  numberView,
  tenantView,
  trunkView,
  voicemailMessageView,
  voicemailView,
} from "./server.ts";
export { ValidationError } from "./validation.ts";
