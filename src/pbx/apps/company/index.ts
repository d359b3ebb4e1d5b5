// The company-wide codes: `*20` the schedule's next mode, `*11` the call
// flow switch, `*30`-`*33` the four announcements. Each asks who may first
// (company-access.ts); the settings themselves belong to the Company service.
import type { AppRegistry } from "../dispatcher.ts";
import { announcementMenu } from "./announcement-app.ts";
import { toggleCallFlowApp } from "./callflow-app.ts";
import { advanceScheduleApp } from "./schedule-app.ts";

export { announcementMenu } from "./announcement-app.ts";
export { toggleCallFlowApp } from "./callflow-app.ts";
export { requireCompanyAccess } from "./company-access.ts";
export { advanceScheduleApp } from "./schedule-app.ts";

export const companyApps: AppRegistry = {
  "schedule.next": (call) => advanceScheduleApp(call),
  "callflow.toggle": (call) => toggleCallFlowApp(call),
  "announcement.welcome": (call) => announcementMenu(call, "welcome"),
  "announcement.waiting": (call) => announcementMenu(call, "waiting"),
  "announcement.closed": (call) => announcementMenu(call, "closed"),
  "announcement.vacation": (call) => announcementMenu(call, "vacation"),
};
