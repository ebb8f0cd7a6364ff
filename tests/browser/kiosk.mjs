// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Walks the kiosk page in Debian's chromium (headless, playwright-core):
// a new token is inserted, its PIN chosen twice (a mismatch and a short PIN
// are refused on the page), the operator approves, the page says "installed";
// then a second token is rejected and the page shows the reason. Run by
// tests/cli/test-kiosk-page.sh, which gives:
//   KIOSK_NODE_DIR  where node_modules/playwright-core is
//   KIOSK_URL       the page
//   KIOSK_HELPER    a shell script: insert NAME | remove NAME | approve | reject
//   KIOSK_PIN       the PIN to choose for the new token
//   KIOSK_OLD_PIN   the PIN of the second token
//   KIOSK_OUT       where the screenshots go
//   KIOSK_WAIT_MS   how long to wait for each step (optional, 30000; longer
//                   when the kiosk runs under valgrind)
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";

const require = createRequire(process.env.KIOSK_NODE_DIR + "/");
const { chromium } = require("playwright-core");
const env = (name) => {
	if (!process.env[name])
		throw new Error(`${name} is not set`);
	return process.env[name];
};
const url = env("KIOSK_URL"), helper = env("KIOSK_HELPER"), out = env("KIOSK_OUT");
const pin = env("KIOSK_PIN"), oldPin = env("KIOSK_OLD_PIN");
const WAIT = { timeout: Number(process.env.KIOSK_WAIT_MS || 30000) };

function helperRun(...args) {
	execFileSync("sh", [helper, ...args], { stdio: ["ignore", "inherit", "inherit"] });
}

function check(cond, what) {
	if (!cond)
		throw new Error(what);
}

async function step(page, name) {
	await page.waitForSelector(`body[data-step="${name}"]`, WAIT);
}

const browser = await chromium.launch({
	executablePath: "/usr/bin/chromium",
	headless: true,
	args: ["--no-sandbox", "--disable-background-networking"],
});
try {
	const page = await browser.newPage({ viewport: { width: 760, height: 900 } });
	const urls = [];
	page.on("request", (r) => urls.push(r.url()));
	await page.goto(url);
	await step(page, "waiting");
	check((await page.textContent("#title")) === "Insert your token", "no 'Insert your token'");
	await page.screenshot({ path: `${out}/kiosk-waiting.png` });

	// a new token: the PIN is chosen and typed twice, with the rules shown
	helperRun("insert", "a");
	await step(page, "pin");
	check(await page.isVisible("#pin2"), "a new PIN is not asked twice");
	check((await page.textContent("#title")) === "Choose a PIN", "no 'Choose a PIN'");
	check((await page.textContent("#rules")).includes("digits"), "the PIN rules are not shown");
	await page.screenshot({ path: `${out}/kiosk-pin.png` });
	await page.fill("#f0", "Front desk");
	await page.fill("#pin", pin);
	await page.fill("#pin2", pin.slice(0, -1) + (pin.endsWith("1") ? "2" : "1"));
	await page.click("#submit");
	await page.waitForFunction(() =>
		document.getElementById("formerror").textContent.includes("differ"), null, WAIT);
	check((await page.inputValue("#pin")) === "" && (await page.inputValue("#pin2")) === "",
		"the PIN stays in the form after it was sent");
	await page.fill("#pin", "12");
	await page.fill("#pin2", "12");
	await page.click("#submit");
	await page.waitForFunction(() =>
		document.getElementById("formerror").textContent.includes("at least"), null, WAIT);
	await page.fill("#pin", pin);
	await page.fill("#pin2", pin);
	await page.click("#submit");
	await step(page, "processing");
	check((await page.textContent("#title")) === "Processing", "no 'Processing'");
	await page.screenshot({ path: `${out}/kiosk-processing.png` });
	helperRun("approve");
	await step(page, "installed");
	check((await page.textContent("#title")) === "Issued and installed",
		"no 'Issued and installed'");
	check(await page.isVisible("#icon svg"), "no icon");
	check(!(await page.content()).includes(pin), "the PIN is in the page");
	const status = await (await page.request.get(url + "status")).text();
	check(!status.includes(pin), "the PIN is in the status");
	await page.screenshot({ path: `${out}/kiosk-installed.png` });
	helperRun("remove", "a");
	await step(page, "waiting");

	// a token with its PIN set: typed once; the CA rejects, the reason is shown
	helperRun("insert", "b");
	await step(page, "pin");
	check(!(await page.isVisible("#pin2")), "a PIN already set is asked twice");
	await page.fill("#f0", "Back office");
	await page.fill("#pin", oldPin);
	await page.click("#submit");
	await step(page, "processing");
	helperRun("reject");
	await step(page, "rejected");
	check((await page.textContent("#title")) === "Rejected", "no 'Rejected'");
	check((await page.textContent("#reason")).includes("not on the staff list"),
		"the rejection's reason is not shown");
	await page.screenshot({ path: `${out}/kiosk-rejected.png` });

	for (const u of urls)
		check(!u.includes(pin) && !u.includes(oldPin), `a PIN in the URL ${u}`);
	console.log("kiosk page: ok");
} catch (e) {
	for (const p of browser.contexts().flatMap((c) => c.pages())) {
		await p.screenshot({ path: `${out}/kiosk-failure.png` });
		console.error("page step:", await p.getAttribute("body", "data-step"),
			"title:", await p.textContent("#title"),
			"form error:", await p.textContent("#formerror"));
	}
	throw e;
} finally {
	await browser.close();
}
