package faqbot

// Text keys: what the bot says besides the knowledge file's answers. A knowledge file's
// texts replace them per language.
const (
	TextFallback     = "fallback"        // an unanswered turn: ask again or for an agent
	TextHandoff      = "handoff"         // the conversation goes to a person
	TextGlad         = "glad"            // the player confirmed the answer helped
	TextHelped       = "helped"          // the button confirming an answer
	TextAgent        = "agent"           // the button asking for a person
	TextWithdrawal   = "withdrawal"      // one pending withdrawal: {amount} {currency} {date} {status}
	TextNoWithdrawal = "withdrawal_none" // the directory lists none
	TextKYCVerified  = "kyc_verified"
	TextKYCPending   = "kyc_pending"
	TextKYCRejected  = "kyc_rejected"
	TextKYCNone      = "kyc_none"
)

var textKeys = []string{TextFallback, TextHandoff, TextGlad, TextHelped, TextAgent, TextWithdrawal, TextNoWithdrawal,
	TextKYCVerified, TextKYCPending, TextKYCRejected, TextKYCNone}

// builtinTexts are the bot's own words in the ten languages.
var builtinTexts = map[string]map[string]string{
	"en": {
		TextFallback: "Sorry, I did not understand. Could you say it in other words? You can also ask for an agent.",
		TextHandoff:  "I am passing you to a colleague from our support team. They will answer you here.",
		TextGlad:     "Glad I could help! Write again any time.", TextHelped: "That helped", TextAgent: "Talk to an agent",
		TextWithdrawal:   "Your withdrawal of {amount} {currency} requested on {date} is {status}.",
		TextNoWithdrawal: "I see no pending withdrawal on your account.",
		TextKYCVerified:  "Your account is verified.", TextKYCPending: "Your documents are being checked; this usually takes up to 24 hours.",
		TextKYCRejected: "Your verification was not accepted. Please upload clear, valid documents under Account > Verification.",
		TextKYCNone:     "Your account is not verified yet. Upload your ID and a proof of address under Account > Verification.",
	},
	"ro": {
		TextFallback: "Îmi pare rău, nu am înțeles. Puteți reformula? Puteți cere și un agent.",
		TextHandoff:  "Vă transfer unui coleg din echipa de suport. Vă va răspunde aici.",
		TextGlad:     "Mă bucur că am putut ajuta!", TextHelped: "M-a ajutat", TextAgent: "Vreau un agent",
		TextWithdrawal:   "Retragerea de {amount} {currency} din {date} este {status}.",
		TextNoWithdrawal: "Nu văd nicio retragere în așteptare în contul dumneavoastră.",
		TextKYCVerified:  "Contul dumneavoastră este verificat.", TextKYCPending: "Documentele sunt în verificare; de obicei durează până la 24 de ore.",
		TextKYCRejected: "Verificarea nu a fost acceptată. Încărcați documente clare și valabile în Cont > Verificare.",
		TextKYCNone:     "Contul nu este încă verificat. Încărcați actul de identitate și o dovadă a adresei în Cont > Verificare.",
	},
	"ru": {
		TextFallback: "Извините, я не понял. Сформулируйте, пожалуйста, иначе или попросите оператора.",
		TextHandoff:  "Передаю вас коллеге из службы поддержки. Вам ответят здесь.",
		TextGlad:     "Рад, что смог помочь!", TextHelped: "Это помогло", TextAgent: "Позовите оператора",
		TextWithdrawal:   "Ваш вывод {amount} {currency} от {date}: {status}.",
		TextNoWithdrawal: "Я не вижу ожидающих выводов на вашем счёте.",
		TextKYCVerified:  "Ваш аккаунт верифицирован.", TextKYCPending: "Ваши документы проверяются; обычно это занимает до 24 часов.",
		TextKYCRejected: "Верификация не принята. Загрузите чёткие действительные документы в разделе Аккаунт > Верификация.",
		TextKYCNone:     "Аккаунт ещё не верифицирован. Загрузите удостоверение личности и подтверждение адреса в разделе Аккаунт > Верификация.",
	},
	"sv": {
		TextFallback: "Förlåt, jag förstod inte. Kan du säga det på ett annat sätt? Du kan också be om en handläggare.",
		TextHandoff:  "Jag skickar dig vidare till en kollega i supporten. Du får svar här.",
		TextGlad:     "Vad bra att jag kunde hjälpa till!", TextHelped: "Det hjälpte", TextAgent: "Prata med en handläggare",
		TextWithdrawal:   "Ditt uttag på {amount} {currency} från {date} är {status}.",
		TextNoWithdrawal: "Jag ser inga väntande uttag på ditt konto.",
		TextKYCVerified:  "Ditt konto är verifierat.", TextKYCPending: "Dina dokument granskas; det tar oftast upp till 24 timmar.",
		TextKYCRejected: "Verifieringen godkändes inte. Ladda upp tydliga, giltiga dokument under Konto > Verifiering.",
		TextKYCNone:     "Ditt konto är inte verifierat än. Ladda upp legitimation och adressbevis under Konto > Verifiering.",
	},
	"de": {
		TextFallback: "Entschuldigung, das habe ich nicht verstanden. Können Sie es anders sagen? Sie können auch nach einem Mitarbeiter fragen.",
		TextHandoff:  "Ich übergebe Sie an eine Kollegin oder einen Kollegen vom Support. Sie erhalten hier eine Antwort.",
		TextGlad:     "Schön, dass ich helfen konnte!", TextHelped: "Das hat geholfen", TextAgent: "Mit einem Mitarbeiter sprechen",
		TextWithdrawal:   "Ihre Auszahlung von {amount} {currency} vom {date} ist {status}.",
		TextNoWithdrawal: "Ich sehe keine offene Auszahlung auf Ihrem Konto.",
		TextKYCVerified:  "Ihr Konto ist verifiziert.", TextKYCPending: "Ihre Dokumente werden geprüft; das dauert meist bis zu 24 Stunden.",
		TextKYCRejected: "Die Verifizierung wurde nicht akzeptiert. Bitte laden Sie gut lesbare, gültige Dokumente unter Konto > Verifizierung hoch.",
		TextKYCNone:     "Ihr Konto ist noch nicht verifiziert. Laden Sie Ausweis und Adressnachweis unter Konto > Verifizierung hoch.",
	},
	"es": {
		TextFallback: "Lo siento, no lo he entendido. ¿Puede decirlo de otra forma? También puede pedir un agente.",
		TextHandoff:  "Le paso con un compañero del equipo de soporte. Le responderá aquí.",
		TextGlad:     "¡Me alegro de haber ayudado!", TextHelped: "Me ha ayudado", TextAgent: "Hablar con un agente",
		TextWithdrawal:   "Su retiro de {amount} {currency} del {date} está {status}.",
		TextNoWithdrawal: "No veo ningún retiro pendiente en su cuenta.",
		TextKYCVerified:  "Su cuenta está verificada.", TextKYCPending: "Sus documentos se están revisando; suele tardar hasta 24 horas.",
		TextKYCRejected: "La verificación no fue aceptada. Suba documentos claros y válidos en Cuenta > Verificación.",
		TextKYCNone:     "Su cuenta aún no está verificada. Suba su documento de identidad y un justificante de domicilio en Cuenta > Verificación.",
	},
	"pt": {
		TextFallback: "Desculpe, não entendi. Pode dizer de outra forma? Também pode pedir um atendente.",
		TextHandoff:  "Vou transferir você para um colega do suporte. Ele responderá aqui.",
		TextGlad:     "Que bom que ajudei!", TextHelped: "Isso ajudou", TextAgent: "Falar com um atendente",
		TextWithdrawal:   "Seu saque de {amount} {currency} de {date} está {status}.",
		TextNoWithdrawal: "Não vejo nenhum saque pendente na sua conta.",
		TextKYCVerified:  "Sua conta está verificada.", TextKYCPending: "Seus documentos estão em análise; normalmente leva até 24 horas.",
		TextKYCRejected: "A verificação não foi aceita. Envie documentos nítidos e válidos em Conta > Verificação.",
		TextKYCNone:     "Sua conta ainda não está verificada. Envie um documento de identidade e um comprovante de endereço em Conta > Verificação.",
	},
	"it": {
		TextFallback: "Mi dispiace, non ho capito. Può dirlo in un altro modo? Può anche chiedere un operatore.",
		TextHandoff:  "La passo a un collega dell'assistenza. Le risponderà qui.",
		TextGlad:     "Felice di essere stato utile!", TextHelped: "Mi è stato utile", TextAgent: "Parlare con un operatore",
		TextWithdrawal:   "Il suo prelievo di {amount} {currency} del {date} è {status}.",
		TextNoWithdrawal: "Non vedo prelievi in attesa sul suo conto.",
		TextKYCVerified:  "Il suo conto è verificato.", TextKYCPending: "I suoi documenti sono in verifica; di solito servono fino a 24 ore.",
		TextKYCRejected: "La verifica non è stata accettata. Carichi documenti leggibili e validi in Conto > Verifica.",
		TextKYCNone:     "Il suo conto non è ancora verificato. Carichi un documento d'identità e una prova di residenza in Conto > Verifica.",
	},
	"fr": {
		TextFallback: "Désolé, je n'ai pas compris. Pouvez-vous le dire autrement ? Vous pouvez aussi demander un conseiller.",
		TextHandoff:  "Je vous transfère à un collègue du support. Il vous répondra ici.",
		TextGlad:     "Ravi d'avoir pu vous aider !", TextHelped: "Ça m'a aidé", TextAgent: "Parler à un conseiller",
		TextWithdrawal:   "Votre retrait de {amount} {currency} du {date} est {status}.",
		TextNoWithdrawal: "Je ne vois aucun retrait en attente sur votre compte.",
		TextKYCVerified:  "Votre compte est vérifié.", TextKYCPending: "Vos documents sont en cours de vérification ; cela prend en général jusqu'à 24 heures.",
		TextKYCRejected: "La vérification n'a pas été acceptée. Envoyez des documents lisibles et valides dans Compte > Vérification.",
		TextKYCNone:     "Votre compte n'est pas encore vérifié. Envoyez une pièce d'identité et un justificatif de domicile dans Compte > Vérification.",
	},
	"tr": {
		TextFallback: "Üzgünüm, anlayamadım. Başka bir şekilde yazabilir misiniz? Bir temsilci de isteyebilirsiniz.",
		TextHandoff:  "Sizi destek ekibinden bir arkadaşıma aktarıyorum. Size buradan yanıt verecek.",
		TextGlad:     "Yardımcı olabildiğime sevindim!", TextHelped: "Yardımcı oldu", TextAgent: "Temsilciyle görüşmek istiyorum",
		TextWithdrawal:   "{date} tarihli {amount} {currency} çekim talebiniz: {status}.",
		TextNoWithdrawal: "Hesabınızda bekleyen bir çekim görmüyorum.",
		TextKYCVerified:  "Hesabınız doğrulandı.", TextKYCPending: "Belgeleriniz inceleniyor; bu genellikle 24 saate kadar sürer.",
		TextKYCRejected: "Doğrulamanız kabul edilmedi. Lütfen Hesap > Doğrulama bölümünden net ve geçerli belgeler yükleyin.",
		TextKYCNone:     "Hesabınız henüz doğrulanmadı. Hesap > Doğrulama bölümünden kimliğinizi ve adres belgenizi yükleyin.",
	},
}

// builtinHandoff are the words by which a player asks for a person, in the ten languages.
// They are matched whole (after folding case and diacritics); "*" ends a prefix. The bot's
// own "Talk to an agent" buttons are added to them.
var builtinHandoff = map[string][]string{
	"en": {"agent", "agents", "operator", "human", "real person", "live person", "representative", "customer service", "talk to someone", "speak to someone", "live chat", "support team"},
	"ro": {"agent", "operator*", "om real", "persoana reala", "persoană reală", "un om", "vorbesc cu cineva", "consultant*"},
	"ru": {"оператор*", "агент*", "живой человек", "живым человеком", "живого человека", "консультант*", "специалист*", "менеджер*"},
	"sv": {"agent", "operatör*", "handläggare*", "riktig person", "en människa", "kundtjänst*", "prata med någon"},
	"de": {"agent", "operator", "mitarbeiter*", "echten menschen", "echter mensch", "berater*", "kundendienst*", "kundenservice"},
	"es": {"agente", "agentes", "operador*", "persona real", "humano", "asesor*", "hablar con alguien"},
	"pt": {"agente", "atendente*", "operador*", "pessoa real", "humano", "falar com alguem", "falar com alguém"},
	"it": {"agente", "operatore", "operatrice", "persona reale", "umano", "parlare con qualcuno"},
	"fr": {"agent", "conseiller*", "conseillère*", "opérateur*", "opératrice*", "vraie personne", "humain", "parler à quelqu'un"},
	"tr": {"temsilci*", "operatör*", "canlı destek", "yetkili*", "gerçek kişi", "gercek kisi", "müşteri hizmetleri"},
}

// builtinThanks are the words by which a player says an answer helped. A message counts as
// thanks only when it is short (thanksMaxWords): "thanks, but where is my money" is a
// question.
var builtinThanks = map[string][]string{
	"en": {"thanks", "thank you", "thank u", "thx", "ty", "that helped", "it worked", "solved", "got it", "perfect", "great"},
	"ro": {"mulțumesc", "mersi", "mulțumim", "m-a ajutat", "a mers", "rezolvat", "perfect"},
	"ru": {"спасибо", "благодарю", "помогло", "это помогло", "получилось", "отлично"},
	"sv": {"tack", "tackar", "det hjälpte", "det funkade", "det fungerade", "toppen", "perfekt"},
	"de": {"danke", "vielen dank", "dankeschön", "hat geholfen", "das hat geholfen", "hat funktioniert", "super", "perfekt"},
	"es": {"gracias", "me ha ayudado", "me ayudó", "funcionó", "perfecto", "genial"},
	"pt": {"obrigado", "obrigada", "valeu", "isso ajudou", "ajudou", "funcionou", "perfeito"},
	"it": {"grazie", "mi è stato utile", "mi ha aiutato", "ha funzionato", "perfetto"},
	"fr": {"merci", "ça m'a aidé", "ca m'a aide", "ça marche", "parfait", "super"},
	"tr": {"teşekkür*", "teşekkürler", "sağol", "sağ ol", "yardımcı oldu", "işe yaradı", "tamamdır", "süper"},
}

// builtinExcluded are the topics the bot never handles, by category and language: payment
// disputes, complaints and self-exclusion go to a person at once. Self-exclusion is also
// duty of care's (router/dutyofcare), which keeps such conversations from the bot from the
// first message; listing it here keeps it from the bot with duty of care disabled.
var builtinExcluded = map[string]map[string][]string{
	"dispute": {
		"en": {"chargeback*", "dispute*", "unauthori* transaction*", "did not authori*", "didn't authori*", "fraud*", "stolen card", "refund*", "money back"},
		"ro": {"chargeback*", "disput*", "contest*", "fraud*", "rambursar*", "banii înapoi", "tranzacție neautorizată"},
		"ru": {"чарджбэк*", "чарджбек*", "оспор*", "мошенни*", "возврат средств", "верните деньги", "несанкционирован*"},
		"sv": {"chargeback*", "bestrid*", "bedrägeri*", "återbetalning*", "pengarna tillbaka", "obehörig*"},
		"de": {"chargeback*", "rückbuchung*", "rückerstattung*", "betrug*", "anfecht*", "geld zurück", "nicht autorisiert*"},
		"es": {"contracargo*", "disputa*", "fraude*", "reembolso*", "devuelvan mi dinero", "no autoriz*"},
		"pt": {"estorno*", "chargeback*", "disputa*", "fraude*", "reembolso*", "meu dinheiro de volta", "não autoriz*"},
		"it": {"storno*", "chargeback*", "contestazion*", "frode*", "truffa*", "rimborso*", "non autorizzat*"},
		"fr": {"rétrofactur*", "chargeback*", "litige*", "contestation*", "fraude*", "arnaque*", "remboursement*", "non autoris*"},
		"tr": {"ters ibraz*", "itiraz*", "dolandır*", "iade*", "paramı geri", "yetkisiz*"},
	},
	"complaint": {
		"en": {"complaint*", "complain*", "lawyer*", "legal action", "regulator*", "ombudsman", "sue you"},
		"ro": {"reclamați*", "reclamati*", "plângere*", "plangere*", "avocat*", "onjn", "anpc"},
		"ru": {"жалоб*", "претензи*", "юрист*", "адвокат*", "в суд"},
		"sv": {"klagomål*", "klaga*", "reklamation*", "advokat*", "spelinspektionen", "arn"},
		"de": {"beschwerde*", "beschweren", "reklamation*", "anwalt*", "rechtsanwalt*", "aufsichtsbehörde*"},
		"es": {"queja*", "reclamación*", "reclamacion*", "reclamo*", "abogado*", "denuncia*"},
		"pt": {"reclamação*", "reclamacao*", "queixa*", "advogado*", "processo judicial", "procon"},
		"it": {"reclamo*", "reclami", "lamentel*", "avvocat*", "denuncia*", "adm"},
		"fr": {"plainte*", "réclamation*", "reclamation*", "avocat*", "médiateur*", "arjel", "anj"},
		"tr": {"şikayet*", "şikâyet*", "avukat*", "dava*"},
	},
	"self-exclusion": {
		"en": {"self exclu*", "selfexclu*", "exclude myself", "close my account", "block my account", "cool off", "cooling off"},
		"ro": {"autoexclu*", "auto exclu*", "închideți contul", "inchideti contul", "blocați contul"},
		"ru": {"самоисключ*", "закройте мой аккаунт", "заблокируйте мой аккаунт", "закрыть аккаунт"},
		"sv": {"självavstäng*", "spelpaus", "stäng mitt konto", "stäng av mig"},
		"de": {"selbstsperr*", "selbstausschluss", "konto schließen", "konto sperren", "sperren sie mich"},
		"es": {"autoexclu*", "autoprohibi*", "cerrar mi cuenta", "bloquear mi cuenta"},
		"pt": {"autoexclu*", "encerrar minha conta", "fechar minha conta", "bloquear minha conta"},
		"it": {"autoesclu*", "chiudere il mio conto", "chiudete il mio conto", "bloccare il mio conto"},
		"fr": {"autoexclu*", "auto exclu*", "interdiction de jeu", "fermer mon compte", "bloquer mon compte"},
		"tr": {"kendimi engelle*", "kendimi dışla*", "hesabımı kapat*", "hesabımı dondur*"},
	},
}
