/* お支払い方法変更 (F-PAY): the card inputs have no name, so the browser never posts them to the
   portal. On 次へ進む this script hands them to the gateway's own script (SandboxGateway, loaded
   from the gateway's origin), which sends them to the gateway and answers a one-time token; only
   the token goes into the form. Messages go beside the field the gateway names. */
(function () {
  "use strict";
  var form = document.getElementById("payment-form");
  if (!form) { return; }
  var button = document.getElementById("payment-next");
  var tokenField = form.querySelector("input[name='card_token']");
  var agree = form.querySelector("input[name='agree']");
  var box = document.getElementById("card-errors");
  var inputs = {
    number: document.getElementById("card-number"),
    exp: document.getElementById("card-exp-month"),
    holder_name: document.getElementById("card-holder-given")
  };
  var errors = {
    number: document.getElementById("card-number-error"),
    exp: document.getElementById("card-expiry-error"),
    holder_name: document.getElementById("card-holder-error")
  };

  function clear() {
    box.hidden = true;
    box.textContent = "";
    Object.keys(errors).forEach(function (key) {
      errors[key].hidden = true;
      errors[key].textContent = "";
      var input = inputs[key];
      if (input) { input.removeAttribute("aria-invalid"); }
    });
  }

  function show(field, message) {
    var target = errors[field];
    if (target) {
      target.textContent = message;
      target.hidden = false;
      if (inputs[field]) {
        inputs[field].setAttribute("aria-invalid", "true");
        inputs[field].focus();
      }
    } else {
      var p = document.createElement("p");
      p.className = "error";
      p.textContent = message;
      box.appendChild(p);
      box.hidden = false;
    }
  }

  function value(id) {
    return document.getElementById(id).value.trim();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (button.disabled) { return; }
    clear();
    tokenField.value = "";
    if (agree && !agree.checked) {
      show("", "クレジットカード支払い注意事項への同意が必要です。");
      agree.focus();
      return;
    }
    var number = value("card-number").replace(/[\s-]/g, "");
    var month = value("card-exp-month");
    var year = value("card-exp-year");
    var given = value("card-holder-given");
    var family = value("card-holder-family");
    if (!number) { show("number", "カード番号を入力してください。"); return; }
    if (!month || !year) { show("exp", "有効期限を選択してください。"); return; }
    if (!given || !family) { show("holder_name", "カード名義(名・姓)を入力してください。"); return; }
    if (!window.SandboxGateway) {
      show("", "決済代行会社に接続できませんでした。しばらくしてからもう一度お試しください。");
      return;
    }
    button.disabled = true;
    window.SandboxGateway.createToken(form.dataset.publishableKey, {
      number: number,
      exp_month: parseInt(month, 10),
      exp_year: parseInt(year, 10),
      holder_name: given + " " + family
    }, form.dataset.reference).then(function (result) {
      if (!result.ok) {
        button.disabled = false;
        show(result.field || "", result.message);
        return;
      }
      tokenField.value = result.token;
      HTMLFormElement.prototype.submit.call(form);
    }, function () {
      button.disabled = false;
      show("", "決済代行会社に接続できませんでした。しばらくしてからもう一度お試しください。");
    });
  });
}());
