// The company's mailboxes (options, PIN reset, unlock) and, for one
// mailbox, its messages and greetings.
import { useState } from "preact/hooks";
import { api, extensionPath, seg, tenantPath } from "../../api.ts";
import { Greetings, Messages } from "../../components/mailbox.tsx";
import { MailboxSettings } from "../../components/mailbox-settings.tsx";
import {
  ActionButton,
  Badge,
  ErrorText,
  Loading,
  Notice,
  PageTitle,
  Section,
  Table,
} from "../../components/ui.tsx";
import { useLive, useResource } from "../../hooks.ts";
import { useI18n } from "../../i18n/index.ts";
import { Link } from "../../router.tsx";
import type { Extension, Tenant } from "../../types.ts";

export function VoicemailPage({ tenant }: { tenant: string }) {
  const { t, fmt } = useI18n();
  const extensions = useResource(() => api.get<Extension[]>(`${tenantPath(tenant)}/extensions`), [tenant]);
  const info = useResource(() => api.get<Tenant>(tenantPath(tenant)), [tenant]);
  useLive(["voicemail"], () => extensions.reload());
  const [pin, setPin] = useState<{ number: string; pin: string }>();
  return (
    <>
      <PageTitle sub={t("voicemail.intro")}>{t("voicemail.title")}</PageTitle>
      {info.data && !info.data.features.voicemail && <p class="notice warn">{t("voicemail.featureOff")}</p>}
      <Section title={t("voicemail.boxes")}>
        <Loading when={extensions.loading && !extensions.data} />
        <ErrorText error={extensions.error} />
        {pin && (
          <Notice>
            {t("voicemail.newPinOf", { number: pin.number })} <code class="secret">{pin.pin}</code>
          </Notice>
        )}
        {extensions.data && (
          <Table
            caption={t("voicemail.boxes")}
            empty={extensions.data.length === 0}
            emptyText={t("extensions.empty")}
          >
            <thead>
              <tr>
                <th scope="col">{t("extensions.number")}</th>
                <th scope="col">{t("extensions.name")}</th>
                <th scope="col">{t("voicemail.state")}</th>
                <th scope="col">{t("voicemail.email")}</th>
                <th scope="col">
                  <span class="visually-hidden">{t("common.actions")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {extensions.data.map((e) => {
                const vm = e.voicemail;
                return (
                  <tr key={e.number}>
                    <th scope="row">
                      <Link href={`/company/${seg(tenant)}/voicemail/${seg(e.number)}`}>{e.number}</Link>
                    </th>
                    <td>{e.displayName}</td>
                    <td>
                      <Badge kind={vm?.enabled ? "ok" : undefined}>
                        {vm?.enabled ? t("common.on") : t("common.off")}
                      </Badge>{" "}
                      {vm?.hasPin ? (
                        <Badge>{t("voicemail.hasPin")}</Badge>
                      ) : (
                        <Badge kind="warn">{t("voicemail.noPin")}</Badge>
                      )}{" "}
                      {vm?.remoteAccess && <Badge>{t("voicemail.remote")}</Badge>}{" "}
                      {vm?.remoteAccessLockedUntil && (
                        <Badge kind="bad">
                          {t("voicemail.lockedUntilShort", { when: fmt.time(vm.remoteAccessLockedUntil) })}
                        </Badge>
                      )}
                    </td>
                    <td>{vm?.email ?? "—"}</td>
                    <td class="row-actions">
                      <ActionButton
                        label={t("voicemail.pinReset")}
                        ariaLabel={t("voicemail.pinResetOf", { number: e.number })}
                        confirm={t("voicemail.confirmPinReset", { number: e.number })}
                        onClick={async () => {
                          const r = await api.post<{ pin: string }>(
                            `${extensionPath(tenant, e.number)}/voicemail/pin-reset`,
                          );
                          setPin({ number: e.number, pin: r.pin });
                          extensions.reload();
                        }}
                      />
                      {vm?.remoteAccessLockedUntil && (
                        <ActionButton
                          label={t("voicemail.unlock")}
                          ariaLabel={t("voicemail.unlockOf", { number: e.number })}
                          onClick={async () => {
                            await api.post(`${extensionPath(tenant, e.number)}/voicemail/unlock`);
                            extensions.reload();
                          }}
                        />
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </Table>
        )}
      </Section>
    </>
  );
}

export function MailboxPage({ tenant, number }: { tenant: string; number: string }) {
  const { t } = useI18n();
  const ext = useResource(() => api.get<Extension>(extensionPath(tenant, number)), [tenant, number]);
  return (
    <>
      <PageTitle sub={ext.data?.displayName}>{t("voicemail.mailboxOf", { number })}</PageTitle>
      <p>
        <Link href={`/company/${seg(tenant)}/voicemail`}>← {t("voicemail.back")}</Link>
      </p>
      <ErrorText error={ext.error} />
      <Messages tenant={tenant} number={number} />
      {ext.data && <MailboxSettings tenant={tenant} extension={ext.data} onChange={ext.set} />}
      <Greetings tenant={tenant} number={number} />
    </>
  );
}
