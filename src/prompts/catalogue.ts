// Every sentence the PBX says, per language: French first (the product's
// default, Swiss usage: "déviation", "tapez", "dièse"), then German (Swiss
// Standard German: no ß, "Begrüssung", "Ferien", "auf Wiederhören" because
// it is said on the phone), Italian (formal "Lei": "prema", "riagganci") and
// British English ("hash key", "holiday").
//
// Sentences that a number, a time or a mode completes end where the spoken
// sentence continues ("... vers le numéro" + the digits), so an app plays
// [prompt, ...sayDigits(target)] and nothing is synthesised during a call.
// Keys are written as digits ("tapez 1"): espeak-ng reads them in the
// voice's language.
import type { Language } from "../store/types.ts";
import { fragmentText } from "./words.ts";

type Texts = Readonly<Record<Language, string>>;

const CATALOGUE = {
  // Generic
  "generic.thank-you": { fr: "Merci.", de: "Vielen Dank.", it: "Grazie.", en: "Thank you." },
  "generic.goodbye": { fr: "Au revoir.", de: "Auf Wiederhören.", it: "Arrivederci.", en: "Goodbye." },
  "generic.invalid-choice": {
    fr: "Ce choix n'est pas valable.",
    de: "Diese Auswahl ist ungültig.",
    it: "Scelta non valida.",
    en: "That choice is not valid.",
  },
  "generic.please-wait": {
    fr: "Veuillez patienter.",
    de: "Bitte warten Sie.",
    it: "Attenda, prego.",
    en: "Please wait.",
  },
  "generic.no-input": {
    fr: "Nous n'avons reçu aucune saisie.",
    de: "Wir haben keine Eingabe erhalten.",
    it: "Non abbiamo ricevuto nessuna selezione.",
    en: "We did not receive any input.",
  },

  // Forwarding (*72, *73, *90, *91, *52, *53)
  "forwarding.unconditional.enabled": {
    fr: "Tous vos appels sont maintenant déviés vers le numéro",
    de: "Alle Ihre Anrufe werden jetzt umgeleitet auf die Nummer",
    it: "Tutte le sue chiamate vengono ora deviate al numero",
    en: "All your calls are now forwarded to",
  },
  "forwarding.all.disabled": {
    fr: "Toutes vos déviations sont désactivées.",
    de: "Alle Ihre Umleitungen sind ausgeschaltet.",
    it: "Tutte le sue deviazioni sono disattivate.",
    en: "All your call forwarding is now switched off.",
  },
  "forwarding.busy.enabled": {
    fr: "Lorsque vous êtes occupé, vos appels sont maintenant déviés vers le numéro",
    de: "Wenn Sie besetzt sind, werden Ihre Anrufe jetzt umgeleitet auf die Nummer",
    it: "Quando la sua linea è occupata, le chiamate vengono ora deviate al numero",
    en: "When you are busy, your calls are now forwarded to",
  },
  "forwarding.busy.disabled": {
    fr: "La déviation lorsque vous êtes occupé est désactivée.",
    de: "Die Umleitung bei besetzt ist ausgeschaltet.",
    it: "La deviazione in caso di linea occupata è disattivata.",
    en: "Forwarding when you are busy is now switched off.",
  },
  "forwarding.unreachable.enabled": {
    fr: "Lorsque votre téléphone n'est pas joignable, vos appels sont maintenant déviés vers le numéro",
    de: "Wenn Ihr Telefon nicht erreichbar ist, werden Ihre Anrufe jetzt umgeleitet auf die Nummer",
    it: "Quando il suo telefono non è raggiungibile, le chiamate vengono ora deviate al numero",
    en: "When your phone cannot be reached, your calls are now forwarded to",
  },
  "forwarding.unreachable.disabled": {
    fr: "La déviation lorsque votre téléphone n'est pas joignable est désactivée.",
    de: "Die Umleitung bei Nichterreichbarkeit ist ausgeschaltet.",
    it: "La deviazione quando il telefono non è raggiungibile è disattivata.",
    en: "Forwarding when your phone cannot be reached is now switched off.",
  },

  // Errors
  "error.code-invalid": {
    fr: "Ce code n'est pas valable. Veuillez vérifier le numéro composé.",
    de: "Dieser Code ist ungültig. Bitte überprüfen Sie Ihre Eingabe.",
    it: "Questo codice non è valido. Verifichi il numero composto.",
    en: "This code is not valid. Please check the number you dialled.",
  },
  "feature.not-enabled": {
    fr: "Ce service n'est pas activé sur votre raccordement. Veuillez vous adresser à votre fournisseur.",
    de: "Dieser Dienst ist für Ihren Anschluss nicht freigeschaltet. Bitte wenden Sie sich an Ihren Anbieter.",
    it: "Questo servizio non è attivato sul suo collegamento. Si rivolga al suo fornitore.",
    en: "This service is not enabled on your line. Please contact your provider.",
  },
  "error.number-missing": {
    fr: "Veuillez composer le code suivi du numéro de destination.",
    de: "Bitte wählen Sie den Code, gefolgt von der Zielnummer.",
    it: "Componga il codice seguito dal numero di destinazione.",
    en: "Please dial the code followed by the destination number.",
  },
  "error.number-invalid": {
    fr: "Le numéro de destination n'est pas valable.",
    de: "Die Zielnummer ist ungültig.",
    it: "Il numero di destinazione non è valido.",
    en: "The destination number is not valid.",
  },
  "error.destination-not-allowed": {
    fr: "Ce numéro de destination n'est pas autorisé.",
    de: "Diese Zielnummer ist nicht erlaubt.",
    it: "Questo numero di destinazione non è consentito.",
    en: "This destination number is not allowed.",
  },
  "error.forwarding-loop": {
    fr: "Cette déviation renverrait les appels vers vous. Elle n'a pas été acceptée.",
    de: "Diese Umleitung würde die Anrufe zu Ihnen zurückführen. Sie wurde nicht übernommen.",
    it: "Questa deviazione riporterebbe le chiamate a lei. Non è stata accettata.",
    en: "This forwarding would lead calls back to you. It has not been accepted.",
  },
  "error.number-not-assigned": {
    fr: "Le numéro que vous avez composé n'est pas attribué.",
    de: "Kein Anschluss unter dieser Nummer.",
    it: "Il numero selezionato è inesistente.",
    en: "The number you have dialled is not in service.",
  },
  "pickup.nothing-ringing": {
    fr: "Il n'y a aucun appel à intercepter.",
    de: "Es gibt keinen Anruf zum Heranholen.",
    it: "Non c'è nessuna chiamata da prendere.",
    en: "There is no call to pick up.",
  },
  "error.try-again-later": {
    fr: "Le service n'est pas disponible pour le moment. Veuillez réessayer plus tard.",
    de: "Der Dienst ist im Moment nicht verfügbar. Bitte versuchen Sie es später noch einmal.",
    it: "Il servizio non è disponibile al momento. Riprovi più tardi.",
    en: "The service is not available at the moment. Please try again later.",
  },

  // Calls that do not go through, said to the caller before the call ends.
  // A number that does not exist is "error.number-not-assigned".
  "call.busy": {
    fr: "Votre correspondant est occupé. Veuillez rappeler plus tard.",
    de: "Ihr Gesprächspartner ist besetzt. Bitte rufen Sie später wieder an.",
    it: "La persona chiamata è occupata. Richiami più tardi.",
    en: "The person you are calling is busy. Please call again later.",
  },
  "call.unreachable": {
    fr: "Votre correspondant n'est pas joignable pour le moment.",
    de: "Ihr Gesprächspartner ist im Moment nicht erreichbar.",
    it: "La persona chiamata non è raggiungibile al momento.",
    en: "The person you are calling cannot be reached at the moment.",
  },
  "call.not-allowed": {
    fr: "Les appels vers ce numéro ne sont pas autorisés depuis votre raccordement.",
    de: "Anrufe auf diese Nummer sind von Ihrem Anschluss aus nicht erlaubt.",
    it: "Le chiamate verso questo numero non sono consentite dal suo collegamento.",
    en: "Calls to this number are not allowed from your line.",
  },

  // Voicemail (*97, and * during the greeting from outside)
  "voicemail.welcome": {
    fr: "Bienvenue sur votre boîte vocale.",
    de: "Willkommen bei Ihrer Sprachbox.",
    it: "Benvenuto nella sua casella vocale.",
    en: "Welcome to your voicemail.",
  },
  "voicemail.mailbox.enter": {
    fr: "Veuillez entrer le numéro de votre boîte vocale, suivi de la touche dièse.",
    de: "Bitte geben Sie die Nummer Ihrer Sprachbox ein, gefolgt von der Rautetaste.",
    it: "Inserisca il numero della sua casella vocale, seguito dal tasto cancelletto.",
    en: "Please enter your mailbox number, followed by the hash key.",
  },
  "voicemail.pin.enter": {
    fr: "Veuillez entrer votre code PIN, suivi de la touche dièse.",
    de: "Bitte geben Sie Ihren PIN-Code ein, gefolgt von der Rautetaste.",
    it: "Inserisca il suo codice PIN, seguito dal tasto cancelletto.",
    en: "Please enter your PIN, followed by the hash key.",
  },
  "voicemail.pin.wrong": {
    fr: "Code PIN incorrect.",
    de: "Falscher PIN-Code.",
    it: "Codice PIN errato.",
    en: "Incorrect PIN.",
  },
  "voicemail.pin.too-many-attempts": {
    fr: "Trop de tentatives erronées. Au revoir.",
    de: "Zu viele Fehlversuche. Auf Wiederhören.",
    it: "Troppi tentativi errati. Arrivederci.",
    en: "Too many failed attempts. Goodbye.",
  },
  "voicemail.pin.new": {
    fr: "Veuillez entrer votre nouveau code PIN, suivi de la touche dièse.",
    de: "Bitte geben Sie Ihren neuen PIN-Code ein, gefolgt von der Rautetaste.",
    it: "Inserisca il nuovo codice PIN, seguito dal tasto cancelletto.",
    en: "Please enter your new PIN, followed by the hash key.",
  },
  "voicemail.pin.confirm": {
    fr: "Veuillez entrer une deuxième fois le nouveau code PIN pour le confirmer.",
    de: "Bitte geben Sie den neuen PIN-Code zur Bestätigung noch einmal ein.",
    it: "Per conferma, inserisca di nuovo il nuovo codice PIN.",
    en: "Please enter the new PIN once more to confirm it.",
  },
  "voicemail.pin.mismatch": {
    fr: "Les deux codes ne correspondent pas.",
    de: "Die beiden Codes stimmen nicht überein.",
    it: "I due codici non corrispondono.",
    en: "The two PINs do not match.",
  },
  "voicemail.pin.invalid": {
    fr: "Ce code PIN n'est pas valable. Il doit comporter de 4 à 10 chiffres.",
    de: "Dieser PIN-Code ist ungültig. Er muss aus 4 bis 10 Ziffern bestehen.",
    it: "Questo codice PIN non è valido. Deve essere composto da 4 a 10 cifre.",
    en: "This PIN is not valid. It must have 4 to 10 digits.",
  },
  "voicemail.pin.trivial": {
    fr: "Ce code PIN est trop facile à deviner. Évitez un seul chiffre répété, une suite de chiffres et le numéro de votre poste.",
    de: "Dieser PIN-Code ist zu leicht zu erraten. Vermeiden Sie eine wiederholte Ziffer, eine Zahlenfolge und Ihre eigene interne Nummer.",
    it: "Questo codice PIN è troppo facile da indovinare. Eviti una sola cifra ripetuta, una sequenza di cifre e il numero del suo interno.",
    en: "This PIN is too easy to guess. Avoid one digit repeated, a run of digits and your own extension number.",
  },
  "voicemail.pin.unchanged": {
    fr: "Votre code PIN n'a pas été modifié.",
    de: "Ihr PIN-Code wurde nicht geändert.",
    it: "Il suo codice PIN non è stato modificato.",
    en: "Your PIN has not been changed.",
  },
  "voicemail.pin.changed": {
    fr: "Votre code PIN a été modifié.",
    de: "Ihr PIN-Code wurde geändert.",
    it: "Il suo codice PIN è stato modificato.",
    en: "Your PIN has been changed.",
  },
  "voicemail.remote-access.not-allowed": {
    fr: "L'accès à la boîte vocale depuis l'extérieur n'est pas activé. Veuillez vous adresser à votre fournisseur.",
    de: "Der Zugriff auf die Sprachbox von aussen ist nicht freigeschaltet. Bitte wenden Sie sich an Ihren Anbieter.",
    it: "L'accesso alla casella vocale dall'esterno non è attivato. Si rivolga al suo fornitore.",
    en: "Access to your voicemail from outside is not enabled. Please contact your provider.",
  },
  // "Vous avez" + sayNumber + "nouveaux messages" + "et" + ... (see sayMessageCounts).
  "voicemail.you-have": { fr: "Vous avez", de: "Sie haben", it: "Lei ha", en: "You have" },
  "voicemail.new-message.none": {
    fr: "aucun nouveau message",
    de: "keine neuen Nachrichten",
    it: "nessun nuovo messaggio",
    en: "no new messages",
  },
  "voicemail.new-message.one": {
    fr: "nouveau message",
    de: "neue Nachricht",
    it: "nuovo messaggio",
    en: "new message",
  },
  "voicemail.new-message.many": {
    fr: "nouveaux messages",
    de: "neue Nachrichten",
    it: "nuovi messaggi",
    en: "new messages",
  },
  "voicemail.saved-message.none": {
    fr: "aucun message sauvegardé",
    de: "keine gespeicherten Nachrichten",
    it: "nessun messaggio salvato",
    en: "no saved messages",
  },
  "voicemail.saved-message.one": {
    fr: "message sauvegardé",
    de: "gespeicherte Nachricht",
    it: "messaggio salvato",
    en: "saved message",
  },
  "voicemail.saved-message.many": {
    fr: "messages sauvegardés",
    de: "gespeicherte Nachrichten",
    it: "messaggi salvati",
    en: "saved messages",
  },
  "voicemail.no-messages": {
    fr: "Vous n'avez aucun message.",
    de: "Sie haben keine Nachrichten.",
    it: "Non ha nessun messaggio.",
    en: "You have no messages.",
  },
  // The Asterisk/FreePBX layout that voicemail users know: 1 listen, 0 options, * help, # exit.
  "voicemail.menu.main": {
    fr: "Pour écouter vos messages, tapez 1. Pour les options de votre boîte vocale, tapez 0. Pour l'aide, tapez étoile. Pour terminer, tapez dièse.",
    de: "Um Ihre Nachrichten abzuhören, drücken Sie die 1. Für die Einstellungen Ihrer Sprachbox drücken Sie die 0. Für Hilfe drücken Sie die Sterntaste. Zum Beenden drücken Sie die Rautetaste.",
    it: "Per ascoltare i messaggi, prema 1. Per le opzioni della casella vocale, prema 0. Per l'aiuto, prema asterisco. Per terminare, prema cancelletto.",
    en: "To listen to your messages, press 1. For your mailbox options, press 0. For help, press star. To finish, press the hash key.",
  },
  "voicemail.menu.options": {
    fr: "Pour enregistrer votre message d'accueil en cas d'absence, tapez 1. Pour enregistrer votre message d'accueil lorsque vous êtes en ligne, tapez 2. Pour enregistrer votre nom, tapez 3. Pour changer votre code PIN, tapez 4. Pour revenir au menu principal, tapez étoile.",
    de: "Um Ihre Begrüssung bei Abwesenheit aufzunehmen, drücken Sie die 1. Für Ihre Begrüssung, wenn Sie telefonieren, die 2. Für Ihren Namen die 3. Um Ihren PIN-Code zu ändern, die 4. Zurück zum Hauptmenü mit der Sterntaste.",
    it: "Per registrare il messaggio di benvenuto in caso di assenza, prema 1. Per registrare il messaggio di benvenuto quando è al telefono, prema 2. Per registrare il suo nome, prema 3. Per cambiare il codice PIN, prema 4. Per tornare al menu principale, prema asterisco.",
    en: "To record your greeting for when you are away, press 1. To record your greeting for when you are on another call, press 2. To record your name, press 3. To change your PIN, press 4. To go back to the main menu, press star.",
  },
  // After every recording the owner makes (greetings, name).
  "voicemail.menu.recording": {
    fr: "Pour accepter cet enregistrement, tapez 1. Pour l'écouter, tapez 2. Pour le réenregistrer, tapez 3. Pour annuler, tapez étoile.",
    de: "Um diese Aufnahme zu übernehmen, drücken Sie die 1. Um sie anzuhören, die 2. Um sie neu aufzunehmen, die 3. Zum Abbrechen die Sterntaste.",
    it: "Per accettare questa registrazione, prema 1. Per ascoltarla, prema 2. Per registrarla di nuovo, prema 3. Per annullare, prema asterisco.",
    en: "To accept this recording, press 1. To listen to it, press 2. To record it again, press 3. To cancel, press star.",
  },
  "voicemail.help": {
    fr: "Dans le menu principal, tapez 1 pour écouter vos messages, 0 pour les options de votre boîte vocale et dièse pour terminer. Pendant ou après un message, tapez 5 pour le réécouter, 4 pour le message précédent, 6 pour le message suivant, 7 pour l'effacer, 9 pour le sauvegarder et 3 pour la date, l'heure et le numéro de l'appelant. Dans les options, tapez 1 pour le message d'accueil en cas d'absence, 2 pour celui lorsque vous êtes en ligne, 3 pour votre nom et 4 pour changer votre code PIN.",
    de: "Im Hauptmenü drücken Sie die 1, um Ihre Nachrichten abzuhören, die 0 für die Einstellungen Ihrer Sprachbox und die Rautetaste zum Beenden. Während oder nach einer Nachricht drücken Sie die 5, um sie nochmals anzuhören, die 4 für die vorherige, die 6 für die nächste Nachricht, die 7 zum Löschen, die 9 zum Speichern und die 3 für Datum, Uhrzeit und Nummer des Anrufers. In den Einstellungen drücken Sie die 1 für die Begrüssung bei Abwesenheit, die 2 für die Begrüssung, wenn Sie telefonieren, die 3 für Ihren Namen und die 4, um Ihren PIN-Code zu ändern.",
    it: "Nel menu principale, prema 1 per ascoltare i messaggi, 0 per le opzioni della casella vocale e cancelletto per terminare. Durante o dopo un messaggio, prema 5 per riascoltarlo, 4 per il messaggio precedente, 6 per il successivo, 7 per cancellarlo, 9 per salvarlo e 3 per la data, l'ora e il numero del chiamante. Nelle opzioni, prema 1 per il messaggio di benvenuto in caso di assenza, 2 per quello quando è al telefono, 3 per il suo nome e 4 per cambiare il codice PIN.",
    en: "In the main menu, press 1 to listen to your messages, 0 for your mailbox options and the hash key to finish. During or after a message, press 5 to hear it again, 4 for the previous message, 6 for the next one, 7 to delete it, 9 to save it and 3 for the date, time and caller's number. In the options, press 1 for your greeting for when you are away, 2 for the one for when you are on another call, 3 for your name and 4 to change your PIN.",
  },
  // "Message reçu" + sayDate + "à" + sayTime + "du numéro" + sayDigits (see sayMessageEnvelope).
  "voicemail.envelope.received": {
    fr: "Message reçu",
    de: "Nachricht vom",
    it: "Messaggio ricevuto",
    en: "Message received on",
  },
  "voicemail.envelope.at": { fr: "à", de: "um", it: "alle ore", en: "at" },
  "voicemail.envelope.from": { fr: "du numéro", de: "von der Nummer", it: "dal numero", en: "from" },
  "voicemail.envelope.from-unknown": {
    fr: "d'un numéro masqué",
    de: "von einer unterdrückten Nummer",
    it: "da un numero anonimo",
    en: "from a withheld number",
  },
  "voicemail.menu.message": {
    fr: "Pour réécouter ce message, tapez 5. Pour le message précédent, tapez 4. Pour le message suivant, tapez 6. Pour effacer ce message, tapez 7. Pour le sauvegarder, tapez 9. Pour la date, l'heure et le numéro de l'appelant, tapez 3. Pour l'aide, tapez étoile. Pour terminer, tapez dièse.",
    de: "Um diese Nachricht nochmals anzuhören, drücken Sie die 5. Für die vorherige Nachricht die 4, für die nächste Nachricht die 6. Um sie zu löschen, die 7. Um sie zu speichern, die 9. Für Datum, Uhrzeit und Nummer des Anrufers die 3. Für Hilfe drücken Sie die Sterntaste, zum Beenden die Rautetaste.",
    it: "Per riascoltare questo messaggio, prema 5. Per il messaggio precedente, prema 4. Per il messaggio successivo, prema 6. Per cancellarlo, prema 7. Per salvarlo, prema 9. Per la data, l'ora e il numero del chiamante, prema 3. Per l'aiuto, prema asterisco. Per terminare, prema cancelletto.",
    en: "To hear this message again, press 5. For the previous message, press 4. For the next message, press 6. To delete it, press 7. To save it, press 9. For the date, time and caller's number, press 3. For help, press star. To finish, press the hash key.",
  },
  // "Message numéro" + sayNumber, before each message.
  "voicemail.message.number": {
    fr: "Message numéro",
    de: "Nachricht Nummer",
    it: "Messaggio numero",
    en: "Message number",
  },
  "voicemail.message.deleted": {
    fr: "Message effacé.",
    de: "Die Nachricht wurde gelöscht.",
    it: "Messaggio cancellato.",
    en: "Message deleted.",
  },
  "voicemail.message.saved": {
    fr: "Message sauvegardé.",
    de: "Die Nachricht wurde gespeichert.",
    it: "Messaggio salvato.",
    en: "Message saved.",
  },
  "voicemail.message.first": {
    fr: "Ceci est le premier message.",
    de: "Dies ist die erste Nachricht.",
    it: "Questo è il primo messaggio.",
    en: "This is the first message.",
  },
  "voicemail.message.no-more": {
    fr: "Il n'y a pas d'autre message.",
    de: "Es gibt keine weiteren Nachrichten.",
    it: "Non ci sono altri messaggi.",
    en: "There are no more messages.",
  },
  "voicemail.greeting.menu": {
    fr: "Pour écouter votre message d'accueil, tapez 1. Pour en enregistrer un nouveau, tapez 2. Pour revenir au message d'accueil par défaut, tapez 3.",
    de: "Um Ihre Begrüssung anzuhören, drücken Sie die 1. Um eine neue aufzunehmen, die 2. Um zur Standardbegrüssung zurückzukehren, die 3.",
    it: "Per ascoltare il messaggio di benvenuto, prema 1. Per registrarne uno nuovo, prema 2. Per tornare al messaggio predefinito, prema 3.",
    en: "To listen to your greeting, press 1. To record a new one, press 2. To go back to the standard greeting, press 3.",
  },
  "voicemail.greeting.record": {
    fr: "Après le bip, enregistrez votre message d'accueil. Tapez dièse lorsque vous avez terminé.",
    de: "Sprechen Sie Ihre Begrüssung nach dem Signalton. Drücken Sie die Rautetaste, wenn Sie fertig sind.",
    it: "Registri il messaggio di benvenuto dopo il segnale acustico. Prema cancelletto quando ha finito.",
    en: "Record your greeting after the tone. Press the hash key when you have finished.",
  },
  "voicemail.greeting.title.unavailable": {
    fr: "Message d'accueil en cas d'absence.",
    de: "Begrüssung bei Abwesenheit.",
    it: "Messaggio di benvenuto in caso di assenza.",
    en: "Greeting for when you are away.",
  },
  "voicemail.greeting.title.busy": {
    fr: "Message d'accueil lorsque vous êtes en ligne.",
    de: "Begrüssung, wenn Sie telefonieren.",
    it: "Messaggio di benvenuto quando è al telefono.",
    en: "Greeting for when you are on another call.",
  },
  "voicemail.name.record": {
    fr: "Après le bip, dites votre nom. Tapez dièse lorsque vous avez terminé.",
    de: "Sprechen Sie Ihren Namen nach dem Signalton. Drücken Sie die Rautetaste, wenn Sie fertig sind.",
    it: "Dica il suo nome dopo il segnale acustico. Prema cancelletto quando ha finito.",
    en: "Say your name after the tone. Press the hash key when you have finished.",
  },
  "voicemail.name.saved": {
    fr: "Votre nom est enregistré.",
    de: "Ihr Name wurde gespeichert.",
    it: "Il suo nome è stato salvato.",
    en: "Your name has been saved.",
  },
  "voicemail.recording.too-short": {
    fr: "L'enregistrement est trop court.",
    de: "Die Aufnahme ist zu kurz.",
    it: "La registrazione è troppo breve.",
    en: "The recording is too short.",
  },
  "voicemail.greeting.saved": {
    fr: "Votre message d'accueil est enregistré.",
    de: "Ihre Begrüssung wurde gespeichert.",
    it: "Il messaggio di benvenuto è stato salvato.",
    en: "Your greeting has been saved.",
  },
  "voicemail.greeting.default-restored": {
    fr: "Le message d'accueil par défaut est rétabli.",
    de: "Die Standardbegrüssung ist wieder aktiv.",
    it: "Il messaggio di benvenuto predefinito è stato ripristinato.",
    en: "The standard greeting has been restored.",
  },
  // "La personne du poste" + sayDigits(extension) + "n'est pas disponible" (or "est en ligne");
  // the recorded name takes the place of the first two.
  "voicemail.greeting.default.extension": {
    fr: "La personne du poste",
    de: "Die Person mit der internen Nummer",
    it: "La persona all'interno",
    en: "The person at extension",
  },
  "voicemail.greeting.default.unavailable": {
    fr: "n'est pas disponible. Veuillez laisser un message après le bip.",
    de: "ist nicht erreichbar. Bitte hinterlassen Sie eine Nachricht nach dem Signalton.",
    it: "non è disponibile. Lasci un messaggio dopo il segnale acustico.",
    en: "is not available. Please leave a message after the tone.",
  },
  "voicemail.greeting.default.busy": {
    fr: "est en ligne. Veuillez laisser un message après le bip.",
    de: "telefoniert gerade. Bitte hinterlassen Sie eine Nachricht nach dem Signalton.",
    it: "è al telefono. Lasci un messaggio dopo il segnale acustico.",
    en: "is on another call. Please leave a message after the tone.",
  },
  "voicemail.greeting.default.generic": {
    fr: "Votre correspondant n'est pas disponible. Veuillez laisser un message après le bip.",
    de: "Ihr Gesprächspartner ist nicht erreichbar. Bitte hinterlassen Sie eine Nachricht nach dem Signalton.",
    it: "La persona chiamata non è disponibile. Lasci un messaggio dopo il segnale acustico.",
    en: "The person you are calling is not available. Please leave a message after the tone.",
  },
  "voicemail.message.recorded": {
    fr: "Votre message a été enregistré. Merci et au revoir.",
    de: "Ihre Nachricht wurde aufgezeichnet. Vielen Dank und auf Wiederhören.",
    it: "Il suo messaggio è stato registrato. Grazie e arrivederci.",
    en: "Your message has been recorded. Thank you, goodbye.",
  },
  "voicemail.mailbox-full": {
    fr: "La boîte vocale de votre correspondant est pleine. Veuillez rappeler plus tard.",
    de: "Die Sprachbox Ihres Gesprächspartners ist voll. Bitte rufen Sie später wieder an.",
    it: "La casella vocale della persona chiamata è piena. Richiami più tardi.",
    en: "The voicemail box of the person you are calling is full. Please call again later.",
  },

  // Who may dial the company-wide codes (*20, *11, *30 to *33): listed phones, and a PIN when set.
  "company.codes.not-allowed": {
    fr: "Ce téléphone ne peut pas modifier les réglages de la société.",
    de: "Mit diesem Telefon können die Einstellungen des Unternehmens nicht geändert werden.",
    it: "Da questo telefono non è possibile modificare le impostazioni dell'azienda.",
    en: "This phone may not change the company's settings.",
  },
  "company.pin.enter": {
    fr: "Veuillez entrer le code PIN de la société, suivi de la touche dièse.",
    de: "Bitte geben Sie den PIN-Code des Unternehmens ein, gefolgt von der Rautetaste.",
    it: "Inserisca il codice PIN dell'azienda, seguito dal tasto cancelletto.",
    en: "Please enter the company PIN, followed by the hash key.",
  },
  "company.pin.wrong": {
    fr: "Code PIN incorrect.",
    de: "Falscher PIN-Code.",
    it: "Codice PIN errato.",
    en: "Incorrect PIN.",
  },
  "company.pin.too-many-attempts": {
    fr: "Trop de tentatives erronées. Au revoir.",
    de: "Zu viele Fehlversuche. Auf Wiederhören.",
    it: "Troppi tentativi errati. Arrivederci.",
    en: "Too many failed attempts. Goodbye.",
  },

  // Schedules (*20). A forced mode: "schedule.switched" + the mode + "schedule.switched.until" +
  // the time ("Le mode fermé est activé jusqu'à treize heures trente"); tomorrow: "...until-tomorrow"
  // + the time; later: "...until-day" + the weekday (and date) + "schedule.switched.at" + the time.
  "schedule.switched": { fr: "Le mode", de: "Der Modus", it: "La modalità", en: "The schedule is now in" },
  "schedule.switched.until": {
    fr: "est activé jusqu'à",
    de: "ist jetzt aktiv bis",
    it: "è ora attiva fino alle ore",
    en: "mode until",
  },
  "schedule.switched.until-tomorrow": {
    fr: "est activé jusqu'à demain à",
    de: "ist jetzt aktiv bis morgen um",
    it: "è ora attiva fino a domani alle ore",
    en: "mode until tomorrow at",
  },
  "schedule.switched.until-day": {
    fr: "est activé jusqu'à",
    de: "ist jetzt aktiv bis",
    it: "è ora attiva fino a",
    en: "mode until",
  },
  "schedule.switched.at": { fr: "à", de: "um", it: "alle ore", en: "at" },
  // *20 again while a mode is forced: + the mode the schedule gives now.
  "schedule.override-cancelled": {
    fr: "L'horaire normal est rétabli. Mode actuel :",
    de: "Die normale Zeitsteuerung gilt wieder. Aktueller Modus:",
    it: "L'orario normale è ripristinato. Modalità attuale:",
    en: "The normal schedule applies again. Current mode:",
  },
  // Modes without an entry here are said by their label, synthesised.
  "schedule.mode.open": { fr: "ouvert", de: "geöffnet", it: "aperto", en: "open" },
  "schedule.mode.closed": { fr: "fermé", de: "geschlossen", it: "chiuso", en: "closed" },
  "schedule.mode.lunch": { fr: "pause de midi", de: "Mittagspause", it: "pausa pranzo", en: "lunch break" },
  "schedule.mode.vacation": { fr: "vacances", de: "Ferien", it: "vacanze", en: "holiday" },
  "schedule.not-configured": {
    fr: "Aucun horaire n'est configuré.",
    de: "Es ist keine Zeitsteuerung eingerichtet.",
    it: "Nessun orario è configurato.",
    en: "No schedule has been set up.",
  },

  // Call flow control (*11): "Le flux d'appel est maintenant en mode" + the state (catalogue or label).
  "callflow.switched": {
    fr: "Le flux d'appel est maintenant en mode",
    de: "Die Anrufsteuerung ist jetzt im Modus",
    it: "Il flusso di chiamata è ora in modalità",
    en: "The call flow is now set to",
  },
  "callflow.mode.normal": { fr: "normal", de: "Normalbetrieb", it: "normale", en: "normal mode" },
  "callflow.mode.day": { fr: "jour", de: "Tag", it: "giorno", en: "day mode" },
  "callflow.mode.night": { fr: "nuit", de: "Nacht", it: "notte", en: "night mode" },
  "callflow.mode.vacation": { fr: "vacances", de: "Ferien", it: "vacanze", en: "holiday mode" },
  "callflow.mode.schedule": { fr: "horaire", de: "Zeitsteuerung", it: "orario", en: "schedule mode" },

  // Announcements (*30 to *33): title, then the menu.
  "announcement.title.welcome": {
    fr: "Message de bienvenue.",
    de: "Begrüssungsansage.",
    it: "Messaggio di benvenuto.",
    en: "Welcome message.",
  },
  "announcement.title.waiting": {
    fr: "Message d'attente.",
    de: "Warteansage.",
    it: "Messaggio di attesa.",
    en: "Please-hold message.",
  },
  "announcement.title.closed": {
    fr: "Message en dehors des heures d'ouverture.",
    de: "Ansage ausserhalb der Öffnungszeiten.",
    it: "Messaggio fuori orario.",
    en: "Out-of-hours message.",
  },
  "announcement.title.vacation": {
    fr: "Message de vacances.",
    de: "Ferienansage.",
    it: "Messaggio per le vacanze.",
    en: "Holiday message.",
  },
  "announcement.menu": {
    fr: "Pour l'écouter, tapez 1. Pour en enregistrer un nouveau, tapez 2. Pour rétablir le message par défaut, tapez 3. Pour terminer, tapez dièse.",
    de: "Um sie anzuhören, drücken Sie die 1. Um eine neue aufzunehmen, die 2. Um die Standardansage wiederherzustellen, die 3. Zum Beenden drücken Sie die Rautetaste.",
    it: "Per ascoltarlo, prema 1. Per registrarne uno nuovo, prema 2. Per ripristinare il messaggio predefinito, prema 3. Per terminare, prema cancelletto.",
    en: "To listen to it, press 1. To record a new one, press 2. To restore the standard message, press 3. To finish, press the hash key.",
  },
  "announcement.record": {
    fr: "Après le bip, enregistrez le nouveau message. Tapez dièse lorsque vous avez terminé.",
    de: "Sprechen Sie die neue Ansage nach dem Signalton. Drücken Sie die Rautetaste, wenn Sie fertig sind.",
    it: "Registri il nuovo messaggio dopo il segnale acustico. Prema cancelletto quando ha finito.",
    en: "Record the new message after the tone. Press the hash key when you have finished.",
  },
  "announcement.saved": {
    fr: "Le nouveau message est enregistré.",
    de: "Die neue Ansage wurde gespeichert.",
    it: "Il nuovo messaggio è stato salvato.",
    en: "The new message has been saved.",
  },
  "announcement.default-restored": {
    fr: "Le message par défaut est rétabli.",
    de: "Die Standardansage ist wieder aktiv.",
    it: "Il messaggio predefinito è stato ripristinato.",
    en: "The standard message has been restored.",
  },
  "announcement.already-default": {
    fr: "Le message par défaut est déjà actif.",
    de: "Die Standardansage ist bereits aktiv.",
    it: "Il messaggio predefinito è già attivo.",
    en: "The standard message is already in use.",
  },
  "announcement.playing-default": {
    fr: "Aucun message personnalisé n'est enregistré. Voici le message par défaut.",
    de: "Es ist keine eigene Ansage aufgenommen. Sie hören die Standardansage.",
    it: "Non è registrato nessun messaggio personalizzato. Ecco il messaggio predefinito.",
    en: "No custom message has been recorded. This is the standard message.",
  },
  // The four announcements as callers hear them until the company records its own.
  "announcement.default.welcome": {
    fr: "Bonjour et bienvenue. Votre appel sera pris dans un instant.",
    de: "Guten Tag und herzlich willkommen. Ihr Anruf wird in Kürze entgegengenommen.",
    it: "Buongiorno e benvenuti. La sua chiamata sarà presa in carico tra un istante.",
    en: "Hello and welcome. Your call will be answered in a moment.",
  },
  "announcement.default.waiting": {
    fr: "Tous nos collaborateurs sont actuellement occupés. Merci de patienter, nous prendrons votre appel dès que possible.",
    de: "Alle unsere Mitarbeitenden sind im Moment besetzt. Bitte bleiben Sie am Apparat, wir sind so bald wie möglich für Sie da.",
    it: "Tutti i nostri collaboratori sono momentaneamente occupati. La preghiamo di attendere, risponderemo al più presto.",
    en: "All our staff are busy at the moment. Please hold, we will answer your call as soon as possible.",
  },
  "announcement.default.closed": {
    fr: "Nous sommes actuellement fermés. Veuillez nous rappeler pendant nos heures d'ouverture. Merci et à bientôt.",
    de: "Wir sind im Moment geschlossen. Bitte rufen Sie uns während unserer Öffnungszeiten wieder an. Vielen Dank.",
    it: "Al momento siamo chiusi. La preghiamo di richiamare durante i nostri orari di apertura. Grazie.",
    en: "We are closed at the moment. Please call again during our opening hours. Thank you.",
  },
  "announcement.default.vacation": {
    fr: "Nous sommes actuellement en vacances. Veuillez nous rappeler à notre retour. Merci de votre compréhension.",
    de: "Wir sind zurzeit in den Ferien. Bitte rufen Sie uns nach unserer Rückkehr wieder an. Vielen Dank für Ihr Verständnis.",
    it: "Siamo attualmente in vacanza. La preghiamo di richiamare al nostro rientro. Grazie per la comprensione.",
    en: "We are currently on holiday. Please call again when we are back. Thank you for your understanding.",
  },
} as const satisfies Record<string, Texts>;

/** An id of a whole sentence in the catalogue. */
export type PromptId = keyof typeof CATALOGUE;

export const PROMPT_IDS: readonly PromptId[] = Object.freeze(Object.keys(CATALOGUE) as PromptId[]);

export class UnknownPrompt extends Error {
  constructor(
    readonly id: string,
    readonly language: Language,
  ) {
    super(`no prompt "${id}" in language "${language}"`);
    this.name = "UnknownPrompt";
  }
}

export function isPromptId(id: string): id is PromptId {
  return Object.hasOwn(CATALOGUE, id);
}

/**
 * The text said for a prompt id: a catalogue sentence, or a number/digit
 * fragment (`digit.7`, `number.42`, `month.3`). Throws UnknownPrompt for
 * anything else, so a typo in an app is found by its first test.
 */
export function promptText(id: string, language: Language): string {
  if (isPromptId(id)) return CATALOGUE[id][language];
  const fragment = fragmentText(id, language);
  if (fragment === undefined) throw new UnknownPrompt(id, language);
  return fragment;
}
