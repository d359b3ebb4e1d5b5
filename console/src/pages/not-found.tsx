import { PageTitle } from "../components/ui.tsx";
import { useI18n } from "../i18n/index.ts";
import { Link } from "../router.tsx";

export function NotFound() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t("notFound.title")}</PageTitle>
      <p>{t("notFound.text")}</p>
      <p>
        <Link href="/">{t("notFound.home")}</Link>
      </p>
    </>
  );
}
