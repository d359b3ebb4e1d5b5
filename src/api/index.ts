export { ADMIN_TOKEN_FILE, type AdminToken, resolveAdminToken } from "./admin-token.ts";
export { ApiError, type ErrorBody, errorBody } from "./errors.ts";
export type { CallView, PbxView, RegistrationView } from "./pbx-view.ts";
export { API_VERSION, type ApiDeps, buildApi, extensionView, tenantView } from "./server.ts";
export { ValidationError } from "./validation.ts";
