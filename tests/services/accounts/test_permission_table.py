"""The permission table in code says what SPEC §2 (manual 「2 機能一覧」) says, cell by cell."""

from mypage.accounts.permissions import MATRIX, Feature

# Transcribed from SPEC §2: お客様番号 | 管理者権限 ID | ユーザー権限 ID.
SPEC_2 = {
    Feature.PROFILE: "○ ○ ×",  # 契約情報の変更
    Feature.PAY: "○ ○ ×",  # お支払い登録情報の確認/変更
    Feature.BILL_VIEW: "○ ※ ×",  # 料金明細照会 ○(※) ×(※) ×: the holder's session is the number itself
    Feature.ACCT: "○ ○ ×",  # アカウントIDの登録/削除
    Feature.ACCT_PASSWORD: "◎ ◎ ○",  # アカウントIDパスワードの変更
    Feature.MAILOPT: "○ ○ ×",  # メールオプションの購入
    Feature.MAIL: "◎ ◎ ○",  # メールアドレスの登録・変更
    Feature.FWD: "◎ ◎ ○",  # メール転送設定
    Feature.AUTOREPLY: "◎ ◎ ○",  # メール自動返信設定
    Feature.SEC: "◎ ◎ ○",  # セキュリティオプションの購入/解約, 情報確認
    Feature.WEB: "◎ ◎ ○",  # Webスペースの登録
    Feature.RS: "○ ○ ×",  # UCOM光 リモートサポートの申込/解約
    Feature.WAR: "○ ○ ○",  # UCOM光 あんしん機器保証の申込/解約
    Feature.EXT: "○ ※ ×",  # ギガシネマ with U-NEXT, クラブオフ ○(※) ×(※) ×
}
# Rows the manual's table does not list, decided in the portal (see permissions.py).
DECIDED = {
    Feature.OVERVIEW: "○ ○ ×",
    Feature.USER_HOME: "× × ○",
    Feature.ACCT_EDIT: "◎ ◎ ○",  # F-ACCT-EDIT; a user ID its own (F-ACCT-USER)
    Feature.CUSTOMER_PASSWORD: "○ ○ ×",
    Feature.CONTRACT_REQUEST: "○ ○ ×",
    Feature.LINE_INFO: "○ ○ ×",
    Feature.STORAGE: "◎ ◎ ○",
    Feature.NOTICES: "◎ ◎ ○",
    Feature.SUPPORT: "◎ ◎ ○",
}


def test_every_feature_has_exactly_one_row():
    assert set(MATRIX) == set(Feature) == set(SPEC_2) | set(DECIDED)


def test_cells_match_the_spec():
    for feature, cells in {**SPEC_2, **DECIDED}.items():
        rule = MATRIX[feature]
        assert f"{rule.holder} {rule.admin} {rule.user}" == cells, feature


def test_a_user_id_may_buy_security_and_warranty_for_itself():
    # SPEC §2 Decision: the table wins over the manual's prose of §7.
    assert str(MATRIX[Feature.SEC].user) == "○"
    assert str(MATRIX[Feature.WAR].user) == "○"
