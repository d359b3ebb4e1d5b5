export {
  type RegisterTransaction,
  Registrar,
  type RegistrarListener,
  type RegistrarOptions,
} from "./registrar.ts";
