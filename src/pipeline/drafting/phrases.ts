import type { Lang } from './language.ts';

/**
 * Every sentence the offline drafter writes, per language. Facts go in as they are (names,
 * URLs, values, quoted errors); only the words around them are translated.
 */
export interface Phrases {
  and: string;
  greeting(name: string | null): string;
  signoff: string;
  /** "on 2026-11-17 08:13 UTC (3 days ago)" */
  on(when: string, ago: string | null): string;
  ago(days: number): string;
  notYet: string;
  yes: string;
  no: string;
  unknownRequester: string;
  askReference: string;
  nothingFound: string;
  privateRefusal(brand: string | null): string;
  kbQuote(title: string, body: string): string;
  moreHelp(url: string): string;
  relatedTicket(id: string, subject: string, status: string | null): string;
  featureIncluded(feature: string, plan: string): string;
  featureNotIncluded(feature: string, plan: string, plans: string[]): string;
  connectionSetUp(name: string, since: string | null): string;
  upgradeIntro: string;
  upgradeTo(target: string | null, url: string): string;
  trialOf(target: string | null, url: string): string;
  integrationState(label: string, status: string, since: string | null, lastError: string | null): string;
  flowEffect(label: string, direction: 'inbound' | 'outbound' | 'both' | null): string;
  integrationNotConnected(label: string, status: string, since: string | null, url: string | null): string;
  reconnect(label: string, url: string): string;
  changelogFits(date: string, title: string, body: string): string;
  requestGroup(count: number, agent: string, prefix: string, status: string): string;
  keyEnded(action: string, when: string, actor: string | null): string;
  currentKey(key: string, agents: string[], count: number): string;
  updateClient(agent: string, replacement: string, prefix: string, status: string): string;
  manageKeys(url: string): string;
  youCan(role: string, account: string | null, url: string | null): string;
  onlyRoles(myRole: string | null, account: string | null, roles: string[], who: string[]): string;
  adminCanHelp(myRole: string | null, account: string | null): string;
  auditEvent(
    when: string,
    actor: string | null,
    what: string,
    change: string | null,
    detail: string | null,
  ): string;
  changedFromTo(field: string, from: string, to: string): string;
  recordFound(kind: string, id: string, details: string[]): string;
  yourValue(name: string, value: string): string;
  chooseRecord(summary: string[]): string;
  customerRecord(kind: string, id: string, who: string, details: string[]): string;
  customerKnown(who: string): string;
}

const join = (items: string[], and: string) =>
  items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} ${and} ${items[items.length - 1]}`;
const acct = (a: string | null, named: (n: string) => string, plain: string) => (a ? named(a) : plain);

const en: Phrases = {
  and: 'and',
  greeting: (n) => `Hi${n ? ` ${n}` : ''},`,
  signoff: 'Best regards,',
  on: (w, a) => `on ${w}${a ? ` (${a})` : ''}`,
  ago: (d) => (d === 0 ? 'today' : d === 1 ? 'yesterday' : `${d} days ago`),
  notYet: 'not yet',
  yes: 'yes',
  no: 'no',
  unknownRequester:
    'Thanks for getting in touch. We could not match your email address to an account with us, so we cannot look up any account details yet. Could you tell us the name of your workspace or account, and write from (or copy) the email address registered there? An admin of the account can also contact us and confirm you.',
  askReference:
    'Could you send us the order number or reference your question is about, so we can check it for you?',
  nothingFound:
    'Thanks for your message. I could not find anything in your account that explains this yet, so a colleague will look into it and get back to you.',
  privateRefusal: (b) =>
    `I'm sorry, but I can't share details about ${b ? `${b}'s` : 'the'} own account, such as its plan, billing, staff or other customers. I'm glad to help with anything about your own orders and profile.`,
  kbQuote: (t, b) => `From our help center ("${t}"): ${b}`,
  moreHelp: (u) => `More help: ${u}`,
  relatedTicket: (id, s, st) =>
    `This looks related to your earlier ticket #${id} ("${s}"${st ? `, ${st}` : ''}).`,
  featureIncluded: (f, p) => `${f} is included in the ${p} plan your account is on.`,
  featureNotIncluded: (f, p, ps) =>
    `${f} is not part of the ${p} plan your account is on; it is included in the ${join(ps, 'and')} plan${ps.length > 1 ? 's' : ''}.`,
  connectionSetUp: (n, s) =>
    `Your ${n} connection itself is set up${s ? ` (connected since ${s})` : ''}, so nothing is broken: it stays inactive until the account is on a plan that includes it.`,
  upgradeIntro: 'If you would like to use it:',
  upgradeTo: (t, u) => `- upgrade${t ? ` to ${t}` : ''}: ${u}`,
  trialOf: (t, u) => `- try ${t ?? 'it'} first with a free trial: ${u}`,
  integrationState: (l, st, s, e) =>
    `Your ${l} integration has the status "${st}"${s ? ` since ${s}` : ''}${e ? `, with the last error "${e}"` : ''}.`,
  flowEffect: (l, d) =>
    d === 'inbound'
      ? `While it is failing, data from ${l} does not reach us, which explains what you are seeing.`
      : d === 'outbound'
        ? `While it is failing, we cannot send your data to ${l}, which explains what you are seeing.`
        : `While it is failing, nothing syncs between your account and ${l}, which explains what you are seeing.`,
  integrationNotConnected: (l, st, s, u) =>
    `Your ${l} integration has the status "${st}"${s ? ` (since ${s})` : ''}.${u ? ` You can connect it here: ${u}` : ''}`,
  reconnect: (l, u) => `To fix it, reconnect ${l} here: ${u}`,
  changelogFits: (d, t, b) => `This lines up with our change of ${d}, "${t}": ${b}`,
  requestGroup: (c, a, p, s) =>
    `In the recent request log, ${c} request${c === 1 ? '' : 's'} from ${a} using the key ${p} got ${s}.`,
  keyEnded: (a, w, by) => `According to the audit log, that key was ${a} ${w}${by ? ` by ${by}` : ''}.`,
  currentKey: (k, ag, c) =>
    `The current key is ${k}${ag.length ? `, which ${join(ag, 'and')} already uses successfully (${c} requests)` : ''}.`,
  updateClient: (a, r, p, s) => `Please update ${a} to use ${r} instead of ${p}; that will stop the ${s}s.`,
  manageKeys: (u) => `You can see and manage your API keys here: ${u}`,
  youCan: (r, a, u) =>
    `You are ${/^[aeiou]/i.test(r) ? 'an' : 'a'} ${r} on ${acct(a, (n) => `the ${n} account`, 'the account')}, so you can make this change yourself${u ? `: ${u}` : '.'}`,
  onlyRoles: (m, a, rs, who) =>
    `${m ? `Your role on ${acct(a, (n) => `the ${n} account`, 'the account')} is ${m}, and only` : 'Only'} ${join(rs, 'and')} can make this change.${who.length ? ` The account's ${join(rs, 'and')}: ${join(who, 'and')}. Please ask one of them to make the change for you, or to give you the access you need.` : ''}`,
  adminCanHelp: (m, a) =>
    `${m ? `Your role on ${acct(a, (n) => `the ${n} account`, 'the account')} is ${m}. ` : ''}An account admin can help with this change; we will confirm who can make it and get back to you.`,
  auditEvent: (w, by, what, ch, d) =>
    `Our audit log shows ${w}${by ? `, by ${by}` : ''}: ${what}${ch ? `, ${ch}` : ''}${d ? ` (${d})` : ''}.`,
  changedFromTo: (f, a, b) => `${f} changed from ${a} to ${b}`,
  recordFound: (k, id, ds) => `I found your ${k} ${id}: ${ds.join('; ')}.`,
  yourValue: (n, v) => `Your ${n} is currently ${v}.`,
  chooseRecord: (s) =>
    `I can see ${join(s, 'and')} on your profile. Could you tell me which one your question is about?`,
  customerRecord: (k, id, who, ds) => `${k} ${id} of ${who}: ${ds.join('; ')}.`,
  customerKnown: (who) => `${who} is one of your customers in our records.`,
};

const de: Phrases = {
  and: 'und',
  greeting: (n) => `Hallo${n ? ` ${n}` : ''},`,
  signoff: 'Viele Grüße',
  on: (w, a) => `am ${w}${a ? ` (${a})` : ''}`,
  ago: (d) => (d === 0 ? 'heute' : d === 1 ? 'gestern' : `vor ${d} Tagen`),
  notYet: 'noch nicht',
  yes: 'ja',
  no: 'nein',
  unknownRequester:
    'Danke für Ihre Nachricht. Wir konnten Ihre E-Mail-Adresse keinem Konto bei uns zuordnen und können deshalb noch keine Kontodaten nachsehen. Können Sie uns den Namen Ihres Workspace oder Kontos nennen und von der dort registrierten E-Mail-Adresse schreiben (oder sie in Kopie setzen)? Ein Admin des Kontos kann Sie auch bei uns bestätigen.',
  askReference:
    'Können Sie uns die Bestellnummer oder Referenz nennen, um die es geht? Dann prüfen wir das für Sie.',
  nothingFound:
    'Danke für Ihre Nachricht. Ich habe in Ihrem Konto noch nichts gefunden, was das erklärt; ein Kollege sieht sich das an und meldet sich bei Ihnen.',
  privateRefusal: (b) =>
    `Leider kann ich keine Angaben zum Konto von ${b ?? 'unserem Kunden'} selbst machen, etwa zu Tarif, Abrechnung, Mitarbeitern oder anderen Kunden. Bei allem, was Ihre eigenen Bestellungen und Ihr Profil betrifft, helfe ich Ihnen gern.`,
  kbQuote: (t, b) => `Aus unserem Hilfe-Center („${t}“): ${b}`,
  moreHelp: (u) => `Weitere Hilfe: ${u}`,
  relatedTicket: (id, s, st) =>
    `Das hängt wohl mit Ihrem früheren Ticket #${id} zusammen („${s}“${st ? `, ${st}` : ''}).`,
  featureIncluded: (f, p) => `${f} ist im Tarif ${p} enthalten, den Ihr Konto nutzt.`,
  featureNotIncluded: (f, p, ps) =>
    `${f} ist nicht Teil des Tarifs ${p}, den Ihr Konto nutzt; es ist im Tarif ${join(ps, 'und')} enthalten.`,
  connectionSetUp: (n, s) =>
    `Ihre ${n}-Verbindung selbst ist eingerichtet${s ? ` (verbunden seit ${s})` : ''}, es ist also nichts kaputt: Sie bleibt inaktiv, bis das Konto einen Tarif hat, der sie enthält.`,
  upgradeIntro: 'Wenn Sie es nutzen möchten:',
  upgradeTo: (t, u) => `- Upgrade${t ? ` auf ${t}` : ''}: ${u}`,
  trialOf: (t, u) => `- ${t ?? 'es'} zuerst kostenlos testen: ${u}`,
  integrationState: (l, st, s, e) =>
    `Ihre ${l}-Integration hat den Status „${st}“${s ? ` seit ${s}` : ''}${e ? `, mit dem letzten Fehler „${e}“` : ''}.`,
  flowEffect: (l, d) =>
    d === 'inbound'
      ? `Solange sie fehlschlägt, erreichen uns keine Daten von ${l}; das erklärt, was Sie sehen.`
      : d === 'outbound'
        ? `Solange sie fehlschlägt, können wir Ihre Daten nicht an ${l} senden; das erklärt, was Sie sehen.`
        : `Solange sie fehlschlägt, wird nichts zwischen Ihrem Konto und ${l} synchronisiert; das erklärt, was Sie sehen.`,
  integrationNotConnected: (l, st, s, u) =>
    `Ihre ${l}-Integration hat den Status „${st}“${s ? ` (seit ${s})` : ''}.${u ? ` Hier können Sie sie verbinden: ${u}` : ''}`,
  reconnect: (l, u) => `Zur Behebung verbinden Sie ${l} hier neu: ${u}`,
  changelogFits: (d, t, b) => `Das passt zu unserer Änderung vom ${d}, „${t}“: ${b}`,
  requestGroup: (c, a, p, s) =>
    `Im aktuellen Request-Log haben ${c} Anfrage${c === 1 ? '' : 'n'} von ${a} mit dem Schlüssel ${p} den Status ${s} erhalten.`,
  keyEnded: (a, w, by) =>
    `Laut Audit-Log wurde dieser Schlüssel ${w}${by ? ` von ${by}` : ''} geändert (${a}).`,
  currentKey: (k, ag, c) =>
    `Der aktuelle Schlüssel ist ${k}${ag.length ? `, den ${join(ag, 'und')} bereits erfolgreich nutzt (${c} Anfragen)` : ''}.`,
  updateClient: (a, r, p, s) =>
    `Bitte stellen Sie ${a} auf ${r} statt ${p} um; dann hören die ${s}-Fehler auf.`,
  manageKeys: (u) => `Ihre API-Schlüssel sehen und verwalten Sie hier: ${u}`,
  youCan: (r, a, u) =>
    `Sie haben die Rolle ${r} im Konto ${a ?? ''}`.trimEnd() +
    `, Sie können die Änderung also selbst vornehmen${u ? `: ${u}` : '.'}`,
  onlyRoles: (m, a, rs, who) =>
    `${m ? `Ihre Rolle im Konto${a ? ` ${a}` : ''} ist ${m}, und nur` : 'Nur'} ${join(rs, 'und')} können diese Änderung vornehmen.${who.length ? ` ${join(rs, 'und')} des Kontos: ${join(who, 'und')}. Bitte bitten Sie eine dieser Personen, die Änderung für Sie vorzunehmen oder Ihnen den nötigen Zugriff zu geben.` : ''}`,
  adminCanHelp: (m, a) =>
    `${m ? `Ihre Rolle im Konto${a ? ` ${a}` : ''} ist ${m}. ` : ''}Ein Admin Ihres Kontos kann bei dieser Änderung helfen; wir klären, wer sie vornehmen kann, und melden uns.`,
  auditEvent: (w, by, what, ch, d) =>
    `Unser Audit-Log zeigt ${w}${by ? ` (${by})` : ''}: ${what}${ch ? `, ${ch}` : ''}${d ? ` (${d})` : ''}.`,
  changedFromTo: (f, a, b) => `${f} von ${a} zu ${b} geändert`,
  recordFound: (k, id, ds) => `Ich habe Ihre ${k} ${id} geprüft: ${ds.join('; ')}.`,
  yourValue: (n, v) => `Ihr Wert für ${n} ist aktuell ${v}.`,
  chooseRecord: (s) => `Ich sehe ${join(s, 'und')} in Ihrem Profil. Um welche geht es Ihnen?`,
  customerRecord: (k, id, who, ds) => `${k} ${id} von ${who}: ${ds.join('; ')}.`,
  customerKnown: (who) => `${who} ist in unseren Daten einer Ihrer Kunden.`,
};

const es: Phrases = {
  and: 'y',
  greeting: (n) => `Hola${n ? ` ${n}` : ''},`,
  signoff: 'Saludos cordiales,',
  on: (w, a) => `el ${w}${a ? ` (${a})` : ''}`,
  ago: (d) => (d === 0 ? 'hoy' : d === 1 ? 'ayer' : `hace ${d} días`),
  notYet: 'todavía no',
  yes: 'sí',
  no: 'no',
  unknownRequester:
    'Gracias por escribirnos. No hemos podido asociar su dirección de correo a ninguna cuenta, así que todavía no podemos consultar los datos de la cuenta. ¿Podría indicarnos el nombre de su espacio de trabajo o cuenta y escribirnos desde la dirección registrada allí (o ponerla en copia)? Un administrador de la cuenta también puede contactarnos para confirmarle.',
  askReference: '¿Podría enviarnos el número de pedido o la referencia de su consulta para que lo revisemos?',
  nothingFound:
    'Gracias por su mensaje. Todavía no he encontrado nada en su cuenta que lo explique, así que un compañero lo revisará y le responderá.',
  privateRefusal: (b) =>
    `Lo siento, pero no puedo compartir datos de la propia cuenta de ${b ?? 'nuestro cliente'}, como su plan, facturación, personal u otros clientes. Con gusto le ayudo con todo lo relacionado con sus propios pedidos y su perfil.`,
  kbQuote: (t, b) => `De nuestro centro de ayuda («${t}»): ${b}`,
  moreHelp: (u) => `Más ayuda: ${u}`,
  relatedTicket: (id, s, st) =>
    `Parece relacionado con su ticket anterior #${id} («${s}»${st ? `, ${st}` : ''}).`,
  featureIncluded: (f, p) => `${f} está incluido en el plan ${p} de su cuenta.`,
  featureNotIncluded: (f, p, ps) =>
    `${f} no forma parte del plan ${p} de su cuenta; está incluido en el plan ${join(ps, 'y')}.`,
  connectionSetUp: (n, s) =>
    `Su conexión con ${n} está configurada${s ? ` (conectada desde ${s})` : ''}, así que no hay nada roto: seguirá inactiva hasta que la cuenta tenga un plan que la incluya.`,
  upgradeIntro: 'Si quiere usarlo:',
  upgradeTo: (t, u) => `- cambie de plan${t ? ` a ${t}` : ''}: ${u}`,
  trialOf: (t, u) => `- o pruebe ${t ?? 'el plan'} primero con una prueba gratuita: ${u}`,
  integrationState: (l, st, s, e) =>
    `Su integración con ${l} tiene el estado «${st}»${s ? ` desde ${s}` : ''}${e ? `, con el último error «${e}»` : ''}.`,
  flowEffect: (l, d) =>
    d === 'inbound'
      ? `Mientras falle, los datos de ${l} no nos llegan, lo que explica lo que está viendo.`
      : d === 'outbound'
        ? `Mientras falle, no podemos enviar sus datos a ${l}, lo que explica lo que está viendo.`
        : `Mientras falle, no se sincroniza nada entre su cuenta y ${l}, lo que explica lo que está viendo.`,
  integrationNotConnected: (l, st, s, u) =>
    `Su integración con ${l} tiene el estado «${st}»${s ? ` (desde ${s})` : ''}.${u ? ` Puede conectarla aquí: ${u}` : ''}`,
  reconnect: (l, u) => `Para solucionarlo, vuelva a conectar ${l} aquí: ${u}`,
  changelogFits: (d, t, b) => `Esto coincide con nuestro cambio del ${d}, «${t}»: ${b}`,
  requestGroup: (c, a, p, s) =>
    `En el registro reciente, ${c} solicitud${c === 1 ? '' : 'es'} de ${a} con la clave ${p} recibieron ${s}.`,
  keyEnded: (a, w, by) =>
    `Según el registro de auditoría, esa clave cambió (${a}) ${w}${by ? ` por ${by}` : ''}.`,
  currentKey: (k, ag, c) =>
    `La clave actual es ${k}${ag.length ? `, que ${join(ag, 'y')} ya usa con éxito (${c} solicitudes)` : ''}.`,
  updateClient: (a, r, p, s) =>
    `Actualice ${a} para usar ${r} en lugar de ${p}; así dejarán los errores ${s}.`,
  manageKeys: (u) => `Puede ver y gestionar sus claves de API aquí: ${u}`,
  youCan: (r, a, u) =>
    `Tiene el rol ${r} en la cuenta${a ? ` ${a}` : ''}, así que puede hacer este cambio usted mismo${u ? `: ${u}` : '.'}`,
  onlyRoles: (m, a, rs, who) =>
    `${m ? `Su rol en la cuenta${a ? ` ${a}` : ''} es ${m}, y solo` : 'Solo'} ${join(rs, 'y')} pueden hacer este cambio.${who.length ? ` ${join(rs, 'y')} de la cuenta: ${join(who, 'y')}. Pida a una de estas personas que haga el cambio o que le dé el acceso necesario.` : ''}`,
  adminCanHelp: (m, a) =>
    `${m ? `Su rol en la cuenta${a ? ` ${a}` : ''} es ${m}. ` : ''}Un administrador (admin) de su cuenta puede ayudarle con este cambio; confirmaremos quién puede hacerlo y le responderemos.`,
  auditEvent: (w, by, what, ch, d) =>
    `Nuestro registro de auditoría muestra ${w}${by ? ` (${by})` : ''}: ${what}${ch ? `, ${ch}` : ''}${d ? ` (${d})` : ''}.`,
  changedFromTo: (f, a, b) => `${f} cambió de ${a} a ${b}`,
  recordFound: (k, id, ds) => `He revisado su ${k} ${id}: ${ds.join('; ')}.`,
  yourValue: (n, v) => `Su ${n} es actualmente ${v}.`,
  chooseRecord: (s) => `Veo ${join(s, 'y')} en su perfil. ¿Sobre cuál es su consulta?`,
  customerRecord: (k, id, who, ds) => `${k} ${id} de ${who}: ${ds.join('; ')}.`,
  customerKnown: (who) => `${who} es uno de sus clientes en nuestros registros.`,
};

const fr: Phrases = {
  and: 'et',
  greeting: (n) => `Bonjour${n ? ` ${n}` : ''},`,
  signoff: 'Cordialement,',
  on: (w, a) => `le ${w}${a ? ` (${a})` : ''}`,
  ago: (d) => (d === 0 ? "aujourd'hui" : d === 1 ? 'hier' : `il y a ${d} jours`),
  notYet: 'pas encore',
  yes: 'oui',
  no: 'non',
  unknownRequester:
    "Merci de nous avoir écrit. Nous n'avons pu associer votre adresse e-mail à aucun compte chez nous, nous ne pouvons donc pas encore consulter les détails du compte. Pourriez-vous nous indiquer le nom de votre espace de travail ou de votre compte, et nous écrire depuis l'adresse qui y est enregistrée (ou la mettre en copie) ? Un administrateur du compte peut aussi nous contacter pour vous confirmer.",
  askReference:
    'Pourriez-vous nous envoyer le numéro de commande ou la référence concernée, afin que nous puissions vérifier ?',
  nothingFound:
    "Merci pour votre message. Je n'ai encore rien trouvé dans votre compte qui l'explique ; un collègue va examiner la question et vous répondra.",
  privateRefusal: (b) =>
    `Je suis désolé, mais je ne peux pas communiquer d'informations sur le compte de ${b ?? 'notre client'} lui-même, comme son offre, sa facturation, son personnel ou ses autres clients. Je vous aide volontiers pour tout ce qui concerne vos propres commandes et votre profil.`,
  kbQuote: (t, b) => `D'après notre centre d'aide (« ${t} ») : ${b}`,
  moreHelp: (u) => `Plus d'aide : ${u}`,
  relatedTicket: (id, s, st) =>
    `Cela semble lié à votre ticket précédent #${id} (« ${s} »${st ? `, ${st}` : ''}).`,
  featureIncluded: (f, p) => `${f} est inclus dans l'offre ${p} de votre compte.`,
  featureNotIncluded: (f, p, ps) =>
    `${f} ne fait pas partie de l'offre ${p} de votre compte ; il est inclus dans l'offre ${join(ps, 'et')}.`,
  connectionSetUp: (n, s) =>
    `Votre connexion ${n} est bien configurée${s ? ` (connectée depuis ${s})` : ''}, rien n'est donc cassé : elle reste inactive tant que le compte n'a pas une offre qui l'inclut.`,
  upgradeIntro: 'Si vous souhaitez l’utiliser :',
  upgradeTo: (t, u) => `- passer à l'offre supérieure${t ? ` ${t}` : ''} : ${u}`,
  trialOf: (t, u) => `- ou essayer ${t ?? "l'offre"} d'abord avec un essai gratuit : ${u}`,
  integrationState: (l, st, s, e) =>
    `Votre intégration ${l} a le statut « ${st} »${s ? ` depuis ${s}` : ''}${e ? `, avec la dernière erreur « ${e} »` : ''}.`,
  flowEffect: (l, d) =>
    d === 'inbound'
      ? `Tant qu'elle échoue, les données de ${l} ne nous parviennent pas, ce qui explique ce que vous constatez.`
      : d === 'outbound'
        ? `Tant qu'elle échoue, nous ne pouvons pas envoyer vos données vers ${l}, ce qui explique ce que vous constatez.`
        : `Tant qu'elle échoue, rien n'est synchronisé entre votre compte et ${l}, ce qui explique ce que vous constatez.`,
  integrationNotConnected: (l, st, s, u) =>
    `Votre intégration ${l} a le statut « ${st} »${s ? ` (depuis ${s})` : ''}.${u ? ` Vous pouvez la connecter ici : ${u}` : ''}`,
  reconnect: (l, u) => `Pour corriger cela, reconnectez ${l} ici : ${u}`,
  changelogFits: (d, t, b) => `Cela correspond à notre changement du ${d}, « ${t} » : ${b}`,
  requestGroup: (c, a, p, s) =>
    `Dans le journal récent, ${c} requête${c === 1 ? '' : 's'} de ${a} avec la clé ${p} ont reçu ${s}.`,
  keyEnded: (a, w, by) =>
    `D'après le journal d'audit, cette clé a changé (${a}) ${w}${by ? ` par ${by}` : ''}.`,
  currentKey: (k, ag, c) =>
    `La clé actuelle est ${k}${ag.length ? `, que ${join(ag, 'et')} utilise déjà avec succès (${c} requêtes)` : ''}.`,
  updateClient: (a, r, p, s) =>
    `Veuillez configurer ${a} pour utiliser ${r} au lieu de ${p} ; les erreurs ${s} cesseront alors.`,
  manageKeys: (u) => `Vous pouvez voir et gérer vos clés d'API ici : ${u}`,
  youCan: (r, a, u) =>
    `Vous avez le rôle ${r} sur le compte${a ? ` ${a}` : ''}, vous pouvez donc faire ce changement vous-même${u ? ` : ${u}` : '.'}`,
  onlyRoles: (m, a, rs, who) =>
    `${m ? `Votre rôle sur le compte${a ? ` ${a}` : ''} est ${m}, et seuls les` : 'Seuls les'} ${join(rs, 'et')} peuvent faire ce changement.${who.length ? ` ${join(rs, 'et')} du compte : ${join(who, 'et')}. Demandez à l'une de ces personnes de faire le changement ou de vous donner l'accès nécessaire.` : ''}`,
  adminCanHelp: (m, a) =>
    `${m ? `Votre rôle sur le compte${a ? ` ${a}` : ''} est ${m}. ` : ''}Un administrateur (admin) de votre compte peut vous aider pour ce changement ; nous vérifions qui peut le faire et revenons vers vous.`,
  auditEvent: (w, by, what, ch, d) =>
    `Notre journal d'audit indique ${w}${by ? ` (${by})` : ''} : ${what}${ch ? `, ${ch}` : ''}${d ? ` (${d})` : ''}.`,
  changedFromTo: (f, a, b) => `${f} est passé de ${a} à ${b}`,
  recordFound: (k, id, ds) => `J'ai vérifié votre ${k} ${id} : ${ds.join(' ; ')}.`,
  yourValue: (n, v) => `Votre ${n} est actuellement ${v}.`,
  chooseRecord: (s) => `Je vois ${join(s, 'et')} sur votre profil. Laquelle concerne votre question ?`,
  customerRecord: (k, id, who, ds) => `${k} ${id} de ${who} : ${ds.join(' ; ')}.`,
  customerKnown: (who) => `${who} fait partie de vos clients dans nos données.`,
};

const pt: Phrases = {
  and: 'e',
  greeting: (n) => `Olá${n ? ` ${n}` : ''},`,
  signoff: 'Atenciosamente,',
  on: (w, a) => `em ${w}${a ? ` (${a})` : ''}`,
  ago: (d) => (d === 0 ? 'hoje' : d === 1 ? 'ontem' : `há ${d} dias`),
  notYet: 'ainda não',
  yes: 'sim',
  no: 'não',
  unknownRequester:
    'Obrigado pelo contato. Não conseguimos associar o seu endereço de e-mail a nenhuma conta, por isso ainda não podemos consultar os dados da conta. Você poderia nos informar o nome do seu espaço de trabalho ou conta e escrever a partir do e-mail registrado nela (ou colocá-lo em cópia)? Um administrador da conta também pode nos contatar para confirmar você.',
  askReference:
    'Você poderia nos enviar o número do pedido ou a referência da sua dúvida, para que possamos verificar?',
  nothingFound:
    'Obrigado pela mensagem. Ainda não encontrei nada na sua conta que explique isso, então um colega vai analisar e retornar para você.',
  privateRefusal: (b) =>
    `Sinto muito, mas não posso compartilhar dados da própria conta de ${b ?? 'nosso cliente'}, como plano, faturamento, equipe ou outros clientes. Fico feliz em ajudar com tudo o que diz respeito aos seus próprios pedidos e ao seu perfil.`,
  kbQuote: (t, b) => `Da nossa central de ajuda ("${t}"): ${b}`,
  moreHelp: (u) => `Mais ajuda: ${u}`,
  relatedTicket: (id, s, st) =>
    `Isso parece relacionado ao seu ticket anterior #${id} ("${s}"${st ? `, ${st}` : ''}).`,
  featureIncluded: (f, p) => `${f} está incluído no plano ${p} da sua conta.`,
  featureNotIncluded: (f, p, ps) =>
    `${f} não faz parte do plano ${p} da sua conta; está incluído no plano ${join(ps, 'e')}.`,
  connectionSetUp: (n, s) =>
    `A sua conexão com ${n} está configurada${s ? ` (conectada desde ${s})` : ''}, então nada está quebrado: ela fica inativa até que a conta tenha um plano que a inclua.`,
  upgradeIntro: 'Se quiser usá-lo:',
  upgradeTo: (t, u) => `- mude de plano${t ? ` para ${t}` : ''}: ${u}`,
  trialOf: (t, u) => `- ou experimente ${t ?? 'o plano'} primeiro com um teste gratuito: ${u}`,
  integrationState: (l, st, s, e) =>
    `A sua integração com ${l} está com o status "${st}"${s ? ` desde ${s}` : ''}${e ? `, com o último erro "${e}"` : ''}.`,
  flowEffect: (l, d) =>
    d === 'inbound'
      ? `Enquanto ela falhar, os dados de ${l} não chegam até nós, o que explica o que você está vendo.`
      : d === 'outbound'
        ? `Enquanto ela falhar, não conseguimos enviar os seus dados para ${l}, o que explica o que você está vendo.`
        : `Enquanto ela falhar, nada é sincronizado entre a sua conta e ${l}, o que explica o que você está vendo.`,
  integrationNotConnected: (l, st, s, u) =>
    `A sua integração com ${l} está com o status "${st}"${s ? ` (desde ${s})` : ''}.${u ? ` Você pode conectá-la aqui: ${u}` : ''}`,
  reconnect: (l, u) => `Para resolver, reconecte ${l} aqui: ${u}`,
  changelogFits: (d, t, b) => `Isso coincide com a nossa mudança de ${d}, "${t}": ${b}`,
  requestGroup: (c, a, p, s) =>
    `No registro recente, ${c} requisiç${c === 1 ? 'ão' : 'ões'} de ${a} com a chave ${p} receberam ${s}.`,
  keyEnded: (a, w, by) =>
    `Segundo o registro de auditoria, essa chave mudou (${a}) ${w}${by ? ` por ${by}` : ''}.`,
  currentKey: (k, ag, c) =>
    `A chave atual é ${k}${ag.length ? `, que ${join(ag, 'e')} já usa com sucesso (${c} requisições)` : ''}.`,
  updateClient: (a, r, p, s) => `Atualize ${a} para usar ${r} em vez de ${p}; assim os erros ${s} param.`,
  manageKeys: (u) => `Você pode ver e gerenciar as suas chaves de API aqui: ${u}`,
  youCan: (r, a, u) =>
    `Você tem o papel ${r} na conta${a ? ` ${a}` : ''}, então pode fazer essa mudança você mesmo${u ? `: ${u}` : '.'}`,
  onlyRoles: (m, a, rs, who) =>
    `${m ? `O seu papel na conta${a ? ` ${a}` : ''} é ${m}, e só` : 'Só'} ${join(rs, 'e')} podem fazer essa mudança.${who.length ? ` ${join(rs, 'e')} da conta: ${join(who, 'e')}. Peça a uma dessas pessoas que faça a mudança ou lhe dê o acesso necessário.` : ''}`,
  adminCanHelp: (m, a) =>
    `${m ? `O seu papel na conta${a ? ` ${a}` : ''} é ${m}. ` : ''}Um administrador (admin) da sua conta pode ajudar com essa mudança; vamos confirmar quem pode fazê-la e retornamos.`,
  auditEvent: (w, by, what, ch, d) =>
    `O nosso registro de auditoria mostra ${w}${by ? ` (${by})` : ''}: ${what}${ch ? `, ${ch}` : ''}${d ? ` (${d})` : ''}.`,
  changedFromTo: (f, a, b) => `${f} mudou de ${a} para ${b}`,
  recordFound: (k, id, ds) => `Verifiquei o seu ${k} ${id}: ${ds.join('; ')}.`,
  yourValue: (n, v) => `O seu ${n} é atualmente ${v}.`,
  chooseRecord: (s) => `Vejo ${join(s, 'e')} no seu perfil. Sobre qual é a sua dúvida?`,
  customerRecord: (k, id, who, ds) => `${k} ${id} de ${who}: ${ds.join('; ')}.`,
  customerKnown: (who) => `${who} é um dos seus clientes nos nossos registros.`,
};

export const PHRASES: Record<Lang, Phrases> = { en, de, es, fr, pt };
