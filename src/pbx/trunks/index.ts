// Trunks to the public network: which address is which carrier, and the
// registrations that keep the carriers sending us the trunks' calls.
export {
  type HostLookup,
  normaliseAddress,
  resolveTrunkRemote,
  systemLookup,
} from "./host-lookup.ts";
export { TrunkDirectory, type TrunkDirectoryDeps } from "./trunk-directory.ts";
export {
  type TrunkRegistrationDeps,
  type TrunkRegistrationState,
  type TrunkRegistrationStatus,
  TrunkRegistrations,
} from "./trunk-registration.ts";
