"""Flask-WTF forms: every form carries the CSRF token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from callback_service.contracts import LABELS, PROBLEM_CODES, ROLES


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=256)])
    next = HiddenField()


class TotpForm(FlaskForm):
    code = StringField(_l("动态口令"), validators=[DataRequired(), Length(min=6, max=8)])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("当前密码"), validators=[DataRequired(), Length(max=256)])
    new = PasswordField(_l("新密码"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(_l("确认新密码"), validators=[DataRequired(), EqualTo("new", _l("两次输入不一致"))])


class TotpEnrolForm(FlaskForm):
    secret = HiddenField(validators=[DataRequired(), Length(max=64)])
    code = StringField(_l("动态口令"), validators=[DataRequired(), Length(min=6, max=8)])


class CorrectionForm(FlaskForm):
    label = SelectField(_l("满意度"), choices=list(LABELS))
    problems = SelectMultipleField(_l("问题类型"), choices=list(PROBLEM_CODES), validate_choice=True)
    note = TextAreaField(_l("审听意见"), validators=[Optional(), Length(max=2000)])


class NoteForm(FlaskForm):
    note = TextAreaField(_l("备注"), validators=[Optional(), Length(max=2000)])


class TransitionForm(FlaskForm):
    to_status = HiddenField(validators=[DataRequired(), Length(max=16)])
    note = TextAreaField(_l("办理情况"), validators=[Optional(), Length(max=2000)])


class UserCreateForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(), Length(max=64)])
    role = SelectField(_l("角色"), choices=list(ROLES))
    station = SelectField(_l("所属单位"), choices=[], validate_choice=False)
    password = PasswordField(_l("初始密码"), validators=[Optional(), Length(max=256)])
    must_change = BooleanField(_l("首次登录须修改密码"), default=True)


class UserRoleForm(FlaskForm):
    role = SelectField(_l("角色"), choices=list(ROLES))
    station = SelectField(_l("所属单位"), choices=[], validate_choice=False)


class EmptyForm(FlaskForm):
    """A POST button with nothing but the CSRF token."""


class ImportForm(FlaskForm):
    file = FileField(_l("报案数据文件"), validators=[FileRequired()])
    strict = BooleanField(_l("严格模式（有错误则全部不导入）"))
