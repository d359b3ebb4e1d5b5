export { type BindingRoute, bindingRoute } from "./binding-route.ts";
export {
  type RegisterTransaction,
  Registrar,
  type RegistrarListener,
  type RegistrarOptions,
} from "./registrar.ts";
