// An extension user's portal: the phone in the browser, their own
// forwarding, voicemail and call history.
import type { ComponentChildren, FunctionComponent } from "preact";
import { useEffect, useState } from "preact/hooks";
import { extensionPath } from "../../api.ts";
import { ForwardingSection } from "../../components/forwarding.tsx";
import { History } from "../../components/history.tsx";
import { Greetings, Messages } from "../../components/mailbox.tsx";
import { ErrorText, Loading, PageTitle } from "../../components/ui.tsx";
import { type I18n, useI18n } from "../../i18n/index.ts";
import type { Location, NavItem } from "../../router.tsx";
import type { Session } from "../../types.ts";

export function userNav(t: I18n["t"]): NavItem[] {
  return [
    { href: "/me/phone", label: t("nav.phone") },
    { href: "/me/forwarding", label: t("nav.forwarding") },
    { href: "/me/voicemail", label: t("nav.voicemail") },
    { href: "/me/history", label: t("nav.history") },
  ];
}

export function userPage(loc: Location, session: Session): ComponentChildren | undefined {
  const { tenant, extension } = session.user;
  if (!tenant || !extension) return undefined;
  switch (loc.path) {
    case "/me/phone":
      return <PhonePage tenant={tenant} extension={extension} />;
    case "/me/forwarding":
      return <ForwardingPage tenant={tenant} extension={extension} />;
    case "/me/voicemail":
      return <VoicemailPage tenant={tenant} extension={extension} />;
    case "/me/history":
      return <HistoryPage tenant={tenant} extension={extension} />;
    default:
      return undefined;
  }
}

interface Props {
  tenant: string;
  extension: string;
}

type SoftphoneComponent = FunctionComponent<{
  tenant: string;
  extension: string;
  lang: "fr" | "de" | "it" | "en";
}>;

/** The softphone (helper D's, with JsSIP) is loaded when the Phone page opens: the other pages do without it. */
function PhonePage({ tenant, extension }: Props) {
  const { t, lang } = useI18n();
  const [Softphone, setSoftphone] = useState<SoftphoneComponent>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    import("../../softphone/softphone.tsx").then(
      (m) => setSoftphone(() => m.Softphone as SoftphoneComponent),
      (err: unknown) => setError(err instanceof Error ? err.message : String(err)),
    );
  }, []);
  return (
    <>
      <PageTitle sub={t("phone.intro")}>{t("phone.title", { number: extension })}</PageTitle>
      <Loading when={!Softphone && !error} />
      <ErrorText error={error} />
      {Softphone && <Softphone tenant={tenant} extension={extension} lang={lang} />}
    </>
  );
}

function ForwardingPage({ tenant, extension }: Props) {
  const { t } = useI18n();
  return (
    <>
      <PageTitle sub={t("forwarding.pageIntro")}>
        {t("forwarding.pageTitle", { number: extension })}
      </PageTitle>
      <ForwardingSection tenant={tenant} number={extension} />
    </>
  );
}

function VoicemailPage({ tenant, extension }: Props) {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t("voicemail.mailboxOf", { number: extension })}</PageTitle>
      <Messages tenant={tenant} number={extension} />
      <Greetings tenant={tenant} number={extension} />
    </>
  );
}

function HistoryPage({ tenant, extension }: Props) {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t("history.pageTitle")}</PageTitle>
      <History path={`${extensionPath(tenant, extension)}/calls/history`} />
    </>
  );
}
