export { type RegisterTransaction, Registrar, type RegistrarOptions } from "./registrar.ts";
